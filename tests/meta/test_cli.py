import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from iftkit.cli import main as iftkit_main
from iftkit.testing import meta_fixtures as fx

ROOT = Path(__file__).resolve().parents[2]


def test_eval_meta_script_writes_reports_and_dynamics(tmp_path):
    results = fx.write_results(tmp_path / "run")
    table = tmp_path / "dyn.csv"
    table.write_text("n,seed,task,scorer,mean\n" + "".join(
        f"{n},1,sentiment,task_strict,{f}\n{n},1,sentiment,task_tolerant,{t}\n"
        for n, f, t in [(0, 0.0, 0.3), (10, 0.95, 0.35), (100, 1.0, 0.6), (1000, 1.0, 0.9)]))
    out = tmp_path / "meta"
    proc = subprocess.run([sys.executable, str(ROOT / "eval" / "meta.py"), "--results", str(results), "--out", str(out),
                           "--dynamics", str(table), "--resamples", "50", "--no-wandb"],
                          capture_output=True, text=True, env={**os.environ, "IFTKIT_CACHE": str(tmp_path / "c")})
    assert proc.returncode == 0, proc.stderr[-2000:]
    printed = proc.stdout
    assert "dynamics: real target samples: format saturates at n=10; task performance plateaus at n=1000" in printed
    assert (out / "dynamics.png").stat().st_size > 10_000
    html = (out / "meta_eval.html").read_text()
    assert "data:image/png;base64," in html and "Learning dynamics" in html
    data = json.loads((out / "meta_eval.json").read_text())
    assert {s["scorer"] for s in data["scorers"]} == {"exact_match", "task_tolerant", "overlap", "length"}


def test_iftkit_meta_eval_reports_bad_results_dir_in_one_line(tmp_path, capsys):
    rc = iftkit_main(["meta-eval", "--results", str(tmp_path / "missing"), "--no-wandb"])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no such directory" in err[0]


def test_meta_eval_logs_an_offline_wandb_run(tmp_path, monkeypatch):
    pytest.importorskip("iftkit.tracking")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wandb"))
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    results = fx.write_results(tmp_path / "run")
    rc = iftkit_main(["meta-eval", "--results", str(results), "--out", str(tmp_path / "o"), "--resamples", "20",
                      "--scorers", "exact_match"])
    assert rc == 0
    runs = list((tmp_path / "wandb").rglob("offline-run-*"))
    assert runs and any(p.suffix == ".wandb" for p in runs[0].iterdir())
