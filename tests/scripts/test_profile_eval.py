"""scripts/profile_eval.py: one phase per line from a recipe file, and a one-line error for a bad recipe."""

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import profile_eval  # noqa: E402


def test_script_prints_a_line_per_phase_and_the_matmul_peak(tiny_model_dir, tmp_path, monkeypatch, capsys):
    from iftkit.data.rows import write_rows
    from iftkit.data.tasks import get_task

    write_rows(tmp_path / "sentiment.jsonl", get_task("sentiment").generate(3, seed=11))
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({
        "model": {"id": str(tiny_model_dir)},
        "tracking": {"mode": "disabled"},
        "eval": {"suites": ["own"], "extra_suites": {"own": str(tmp_path / "sentiment.jsonl")},
                 "scorers": ["rouge"], "max_new_tokens": 4},
    }))
    monkeypatch.setattr(profile_eval, "matmul_peak", lambda dtype, clock=None: 2e9)  # no 2048^2 matmuls here
    assert profile_eval.main(["--config", str(recipe), "--prompts", "2", "--eval.batch_size", "2"]) == 0
    out = capsys.readouterr().out
    names = {line.split("  ")[0].strip() for line in out.splitlines()}
    assert {"load", "prefill", "decode", "lm head", "score rouge1", "other", "total"} <= names
    assert "2 answers" in out and "matmul peak: float32 2 GFLOP/s" in out


def test_script_says_in_one_line_which_recipe_it_cannot_read(tmp_path, capsys):
    assert profile_eval.main(["--config", str(tmp_path / "missing.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("profile_eval: error:") and "missing.yaml" in err and "\n" not in err
