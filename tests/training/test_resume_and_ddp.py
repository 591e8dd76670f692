"""Crash safety and distribution: kill -9 mid-training then rerun resumes; 2-process CPU DDP writes one adapter."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from iftkit.testing.mixes import tiny_recipe_overrides, write_test_mix

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable


def _env():
    env = dict(os.environ, WANDB_MODE="offline", WANDB_SILENT="true", HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    env.pop("OPENAI_API_KEY", None)
    # a W&B service started by an earlier in-process test would be shared (WANDB_SERVICE) and
    # would still hold the killed run's id: each subprocess gets its own, as a user's would
    env.pop("WANDB_SERVICE", None)
    return env


def test_kill_9_then_rerun_resumes_from_last_checkpoint(tiny_model_dir, tmp_path):
    mix = write_test_mix(tmp_path / "mix", n_train=64)
    out = tmp_path / "adapter"
    cmd = [
        PY,
        str(ROOT / "train/sft.py"),
        "--config",
        str(ROOT / "recipes/quickstart.yaml"),
        "--output_dir",
        str(out),
        "--mix-dir",
        str(mix),
        *tiny_recipe_overrides(
            tiny_model_dir,
            **{
                "training.max_steps": 150,
                "training.save_steps": 5,
                "training.logging_steps": 50,
                "tracking.mode": "offline",
                "tracking.dir": str(tmp_path / "wb"),
            },
        ),
    ]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    ckpts = out / "checkpoints"
    while proc.poll() is None and not (ckpts / "checkpoint-10" / "trainer_state.json").is_file():
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the crash: no cleanup, no final save
    proc.wait()
    assert not (out / "adapter_card.json").exists(), "training finished before the kill; raise max_steps"
    state = json.loads((out / "train_state.json").read_text())

    res = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    line = next(x for x in res.stdout.splitlines() if "resuming from checkpoint" in x)
    step = int(line.rsplit("(step ", 1)[1].rstrip(")"))
    assert step >= 10 and step % 5 == 0
    card = json.loads((out / "adapter_card.json").read_text())
    assert card["status"] == "complete" and card["global_step"] == 150
    assert card["wandb"]["run_id"] == state["wandb_run_id"]  # the same W&B run continues
    assert card["tokens_seen"] > 0 and card["train_loss"] > 0
    assert not ckpts.exists() and not (out / "train_state.json").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_process_cpu_ddp_writes_one_adapter(tiny_model_dir, tmp_path):
    accelerate = shutil.which("accelerate", path=str(Path(PY).parent))
    mix = write_test_mix(tmp_path / "mix", n_train=32)
    out = tmp_path / "adapter"
    # `--cpu --num_processes 2` alone starts one process in accelerate 1.x: see recipes/accelerate/cpu_ddp.yaml
    cmd = [
        accelerate,
        "launch",
        "--config_file",
        str(ROOT / "recipes/accelerate/cpu_ddp.yaml"),
        "--num_processes",
        "2",
        "--main_process_port",
        str(_free_port()),
        str(ROOT / "train/sft.py"),
        "--config",
        str(ROOT / "recipes/quickstart.yaml"),
        "--output_dir",
        str(out),
        "--mix-dir",
        str(mix),
        *tiny_recipe_overrides(
            tiny_model_dir,
            **{"tracking.mode": "offline", "tracking.dir": str(tmp_path / "wb"), "training.max_steps": 4},
        ),
    ]
    res = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    card = json.loads((out / "adapter_card.json").read_text())
    assert card["world_size"] == 2 and card["global_step"] == 4
    assert res.stdout.count("adapter written") == 1
    runs = list((tmp_path / "wb" / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and runs[0].name.endswith(card["wandb"]["run_id"])
    # tokens of both ranks are counted: 4 steps x 2 ranks x 4 rows
    assert card["tokens_seen"] > 4 * 2 * 4 * 10


def test_half_written_checkpoint_is_skipped(tmp_path):
    from iftkit.training.resume import last_complete_checkpoint

    good, broken = tmp_path / "checkpoint-5", tmp_path / "checkpoint-10"
    for d in (good, broken):
        d.mkdir()
        (d / "adapter_model.safetensors").write_bytes(b"x")
    (good / "trainer_state.json").write_text("{}")
    (broken / "trainer_state.json").write_text('{"global_st')  # killed mid-write
    assert last_complete_checkpoint(tmp_path) == good
    assert broken.exists()
    assert last_complete_checkpoint(tmp_path, remove_incomplete=True) == good and not broken.exists()
