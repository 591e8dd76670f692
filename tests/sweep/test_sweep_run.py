"""End-to-end sweeps on the tiny model: resumable after kill -9, no duplicate rows, emitters."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from iftkit.sweep.state import SweepState
from iftkit.testing.sweep_runs import ROOT, SCRIPT, env, run_sweep, sweep_recipe, wandb_agent_command


def adapter_mtimes(root):
    return {p.parent.parent.name: p.stat().st_mtime_ns for p in root.glob("cells/*/adapter/adapter_model.safetensors")}


@pytest.mark.slow
def test_killed_sweep_resumes_without_retraining_or_duplicates(tmp_path, tiny_model_dir):
    recipe = sweep_recipe(tmp_path, tiny_model_dir)
    root = tmp_path / "runs" / "tiny-sweep"
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--config", str(recipe), "--no-progress"],
        env=env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    # kill -9 once the first cell's adapter exists and the second cell has started
    deadline = time.monotonic() + 900
    state = SweepState(root)
    while time.monotonic() < deadline:
        if state.get("ratio=0.0-seed=0").get("status") == "done" and state.get("ratio=1.0-seed=0"):
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    first = adapter_mtimes(root)
    assert "ratio=0.0-seed=0__" in "".join(first)

    out = run_sweep(recipe, tmp_path).stdout
    assert "[ratio=0.0-seed=0] done earlier, skipped" in out
    after = adapter_mtimes(root)
    for name, mtime in first.items():
        if name.startswith("ratio=0.0"):
            assert after[name] == mtime, "a finished cell was retrained"
    assert len(after) == 2

    rows = [json.loads(line) for line in (root / "results.jsonl").read_text().splitlines()]
    keys = [(r["cell"], r["suite"], r["task"], r["scorer"]) for r in rows]
    assert len(keys) == len(set(keys))
    assert {r["cell"] for r in rows} == {"base", "ratio=0.0-seed=0", "ratio=1.0-seed=0"}
    for cell in ("base", "ratio=0.0-seed=0", "ratio=1.0-seed=0"):
        assert {(r["suite"], r["scorer"]) for r in rows if r["cell"] == cell and r["task"] == "__all__"} >= {
            ("in_domain", "task_tolerant"),
            ("general", "task_tolerant"),
        }
    report = root / "report"
    assert (report / "report.html").is_file() and (report / "tradeoff.png").stat().st_size > 10_000
    assert list((root / "wandb").glob("wandb/offline-run-*"))

    # a third run does nothing but re-collect
    again = run_sweep(recipe, tmp_path).stdout
    assert again.count("done earlier, skipped") == 2
    assert "trained in" not in again and "generations:" not in again  # nothing trained, nothing generated


FAKE_SBATCH = """#!{python}
# Stands in for SLURM's sbatch: runs the job script now (every task of an --array), refuses a job whose
# afterok dependency did not succeed, and prints a job id as sbatch --parsable does.
import os, re, subprocess, sys
log = os.environ["FAKE_SLURM_LOG"]
args = sys.argv[1:]
script = args[-1]
done = open(log).read().split() if os.path.exists(log) else []
for a in args:
    if a.startswith("--dependency="):
        need = a.split(":", 1)[1]
        if not any(d.startswith("ok:" + need + ":") for d in done):
            sys.exit("sbatch: dependency " + need + " never satisfied")
job = str(1000 + len(done))
text = open(script).read()
found = re.search(r"^#SBATCH --array=0-([0-9]+)$", text, re.M)
output = re.search(r"^#SBATCH --output=(.+)$", text, re.M).group(1)
ok = True
for task in range(int(found.group(1)) + 1 if found else 1):
    array = {{"SLURM_ARRAY_JOB_ID": job, "SLURM_ARRAY_TASK_ID": str(task)}} if found else {{}}
    env = dict(os.environ, SLURM_JOB_ID=job, **array)
    # like SLURM, open the job's output file before the script runs (its folder must exist by then)
    with open(output.replace("%j", job).replace("%A", job).replace("%a", str(task)), "w") as out:
        ok = subprocess.run(["bash", script], env=env, stdout=out, stderr=subprocess.STDOUT).returncode == 0 and ok
    with open(log, "a") as f:
        f.write(("ok:" if ok else "failed:") + job + ":" + os.path.basename(script) + "\\n")
print(job)
"""


def test_emit_slurm_passes_shellcheck_and_submits_base_then_cells(tmp_path, tiny_model_dir):
    recipe = sweep_recipe(tmp_path, tiny_model_dir, grid="[0.0]")
    root = tmp_path / "runs" / "tiny-sweep"
    out = run_sweep(recipe, tmp_path, "--emit", "slurm").stdout
    submit = root / "submit.sh"
    assert f"wrote {submit} (1 cells)" in out and f"submit: bash {submit}" in out
    scripts = {name: (root / name).read_text() for name in ("submit.sh", "base.slurm", "sweep.slurm")}
    assert "#SBATCH --array=0-0" in scripts["sweep.slurm"] and '--cell "$CELL"' in scripts["sweep.slurm"]
    assert "--base-only" in scripts["base.slurm"] and "--array" not in scripts["base.slurm"]
    assert '--dependency=afterok:"$base_job"' in scripts["submit.sh"]
    shellcheck = Path(sys.executable).parent / "shellcheck"
    lint = subprocess.run([str(shellcheck), *(str(root / name) for name in scripts)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout
    # the jobs run the interpreter that emitted them, not whatever `python` a node's PATH has
    assert f"{sys.executable} -m iftkit sweep" in scripts["sweep.slurm"]
    # submit as a user would, through a stand-in sbatch, with the in-process launcher (no accelerate config needed)
    for name, text in scripts.items():
        (root / name).write_text(text.replace("--launcher accelerate", "--launcher inprocess"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sbatch").write_text(FAKE_SBATCH.format(python=sys.executable))
    (bin_dir / "sbatch").chmod(0o755)
    log = tmp_path / "slurm.log"
    environ = {**env(tmp_path), "PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_SLURM_LOG": str(log)}
    proc = subprocess.run(["bash", str(submit)], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert log.read_text().split() == ["ok:1000:base.slurm", "ok:1001:sweep.slurm"]
    assert "[base] evaluating the base model" in (root / "slurm" / "base_1000.out").read_text()
    task = (root / "slurm" / "1001_0.out").read_text()
    assert "[ratio=0.0-seed=0] trained in" in task and "[base]" not in task  # the cell found the base done
    assert SweepState(root).get("ratio=0.0-seed=0")["slurm_job"] == "1001_0"
    collected = run_sweep(recipe, tmp_path, "collect").stdout
    assert "report:" in collected and "not finished yet" not in collected


def test_emit_wandb_config_is_valid_and_its_command_runs_a_cell(tmp_path, tiny_model_dir):
    sweeps_config = pytest.importorskip(
        "sweeps.config", reason="the `sweeps` package (W&B sweep schema) is installed by make setup"
    )
    recipe = sweep_recipe(tmp_path, tiny_model_dir, grid="[0.0, 1.0]")
    run_sweep(recipe, tmp_path, "--emit", "wandb")
    path = tmp_path / "runs" / "tiny-sweep" / "wandb_sweep.yaml"
    config = yaml.safe_load(path.read_text())
    assert sweeps_config.schema_violations_from_proposed_config(config) == []
    assert config["parameters"]["mix.target_ratio"] == {"values": [0.0, 1.0]}
    cmd = wandb_agent_command(config, 0)  # what `wandb agent` would run for the first grid point
    proc = subprocess.run(cmd, env=env(tmp_path), capture_output=True, text=True, timeout=1200, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "1 of 2 cells" in proc.stdout
    assert list((tmp_path / "runs" / "tiny-sweep" / "cells").glob("ratio=0.0-seed=0__*/eval-*/results.jsonl"))


def test_unknown_cell_and_empty_grid_are_clear_errors(tmp_path, tiny_model_dir):
    recipe = sweep_recipe(tmp_path, tiny_model_dir)
    proc = run_sweep(recipe, tmp_path, "--cell", "nope", check=False)
    assert proc.returncode == 2 and "--cell 'nope' is not in this sweep" in proc.stderr
    empty = tmp_path / "empty.yaml"
    empty.write_text(f"include: {ROOT / 'recipes' / 'quickstart.yaml'}\n")
    proc = run_sweep(empty, tmp_path, check=False)
    assert proc.returncode == 2 and "sweep.grid' is empty" in proc.stderr


@pytest.mark.slow
def test_accelerate_launcher_trains_a_cell_through_the_installed_package(tmp_path, tiny_model_dir):
    recipe = sweep_recipe(tmp_path, tiny_model_dir, grid="[1.0]")
    config = tmp_path / "accelerate_cpu.yaml"
    config.write_text(
        "compute_environment: LOCAL_MACHINE\ndistributed_type: 'NO'\nnum_processes: 1\nnum_machines: 1\n"
        "machine_rank: 0\nmixed_precision: 'no'\nuse_cpu: true\n"
    )
    # run from another directory: the launcher must not need the checkout's train/sft.py
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "iftkit",
            "sweep",
            "--config",
            str(recipe),
            "--no-progress",
            "--launcher",
            "accelerate",
            "--accelerate-config",
            str(config),
        ],
        env=env(tmp_path),
        capture_output=True,
        text=True,
        timeout=1200,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    card = json.loads(
        next((tmp_path / "runs" / "tiny-sweep" / "cells").glob("*/adapter/adapter_card.json")).read_text()
    )
    assert card["status"] == "complete"
