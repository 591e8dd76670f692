"""The package owns its defaults: a wheel installed outside the checkout runs eval and meta-eval."""

import json
import site
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_wheel_installed_elsewhere_runs_eval_and_meta_eval_with_defaults(tmp_path, tiny_model_dir):
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(ROOT)],
        check=True,
        capture_output=True,
    )
    wheel = next(wheels.glob("iftkit-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # the dependencies come from this environment; iftkit itself only from the wheel
    (Path(purelib) / "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q", str(wheel)],
        check=True,
        capture_output=True,
    )
    work = tmp_path / "elsewhere"
    work.mkdir()
    recipe = work / "r.yaml"
    recipe.write_text(
        yaml.safe_dump(
            {
                "model": {"id": str(tiny_model_dir)},
                "tracking": {"mode": "disabled"},
                "data": {"target_task": "sentiment", "general_tasks": ["topic"], "samples_per_task": 20},
                "mix": {"target_ratio": 0.5, "total_size": 20, "val_size": 2, "test_size_per_task": 3},
                "eval": {
                    "scorers": ["task", "judge"],
                    "max_new_tokens": 4,
                    "instruction_samples_per_category": 1,
                    "cache_dir": str(tmp_path / "cache"),
                },
            }
        )
    )
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "HF_HUB_OFFLINE": "1",
        "IFTKIT_CACHE": str(tmp_path / "cache"),
        "WANDB_MODE": "disabled",
    }
    where = subprocess.run(
        [str(py), "-c", "import iftkit; print(iftkit.__file__)"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(ROOT) not in where and "site-packages" in where
    proc = subprocess.run(
        [str(venv / "bin" / "iftkit"), "eval", "--config", str(recipe), "--out", "out", "--no-progress"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [json.loads(x) for x in (work / "out" / "results.jsonl").read_text().splitlines()]
    assert {"task_tolerant", "judge"} <= {r["scorer"] for r in rows}
    assert any(r["suite"] == "held_out" and r["task"].startswith("instruct_") for r in rows)  # the packaged set
    proc = subprocess.run(
        [
            str(venv / "bin" / "iftkit"),
            "meta-eval",
            "--results",
            "out",
            "--no-wandb",
            "--resamples",
            "20",
            "--tfa-max-items",
            "3",
            "--judge-max-items",
            "2",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (work / "out" / "meta_eval" / "meta_eval.md").is_file()
