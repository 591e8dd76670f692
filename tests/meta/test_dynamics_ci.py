import json

import numpy as np
from PIL import Image

from iftkit.meta.dynamics_ci import (
    PromptScores,
    add_holm,
    boundary_intervals,
    describe_intervals,
    load_prompt_scores,
    synthetic_effect,
)
from iftkit.meta.learning_dynamics import analyse_dynamics

PROMPTS = [("sentiment", str(i)) for i in range(40)]


def _cell(n, seed, source, fmt_share, task_share):
    """Prompt i complies with the format when i < fmt_share * 40, is right when i < task_share * 40."""
    fmt = {p: float(i < fmt_share * len(PROMPTS)) for i, p in enumerate(PROMPTS)}
    task = {p: float(i < task_share * len(PROMPTS)) for i, p in enumerate(PROMPTS)}
    return [PromptScores(n, seed, source, "format", fmt), PromptScores(n, seed, source, "task", task)]


def _biphasic(source="real", seeds=(0, 1)):
    # format jumps at n=4, the task keeps climbing to n=64
    shares = {0: (0.0, 0.3), 4: (1.0, 0.4), 16: (1.0, 0.6), 64: (1.0, 0.9)}
    return [it for n, (f, t) in shares.items() for s in seeds for it in _cell(n, s, source, f, t)]


def test_boundary_intervals_of_a_clean_biphasic_curve():
    got = boundary_intervals(_biphasic(), resamples=200)["real"]
    assert got["format_saturates_in"] == [4, 4], "every prompt complies from n=4 on: no doubt about where"
    lo, hi = got["task_plateaus_in"]
    assert 16 <= lo <= hi == 64
    assert got["biphasic_share"] == 1.0 and got["prompts"] == 40


def test_a_flat_curve_has_no_interval():
    flat = [it for n in (0, 4, 16) for s in (0, 1) for it in _cell(n, s, "real", 0.5, 0.5)]
    got = boundary_intervals(flat, resamples=100)["real"]
    assert got["format_saturates_in"] is None and got["task_plateaus_in"] is None
    assert got["biphasic_share"] == 0.0


def test_synthetic_effect_is_zero_for_identical_outputs_and_finds_a_known_shift():
    real = [it for n in (0, 4) for s in (0, 1) for it in _cell(n, s, "real", 0.5, 0.5)]
    same = [PromptScores(it.n, it.seed, "synthetic", it.metric, it.scores) for it in real]
    for e in synthetic_effect(real + same):
        # identical outputs: no difference, and none claimed (the interval keeps a width on 0/1 scores)
        assert e["difference"] == 0.0 and e["ci"][0] == -e["ci"][1] and e["p_holm"] == 1.0
    shifted = [it for n in (0, 4) for s in (0, 1) for it in _cell(n, s, "synthetic", 0.75, 0.5)]
    effects = {(e["n"], e["metric"]): e for e in synthetic_effect(real + shifted)}
    fmt = effects[(4, "format")]
    assert fmt["difference"] == 0.25 and fmt["ci"][0] <= 0.25 <= fmt["ci"][1] and fmt["ci"][0] > 0
    assert fmt["seeds"] == [2, 2] and fmt["prompts"] == 40
    assert effects[(0, "format")]["difference"] == 0.25, "a synthetic n=0 adapter is its own point"
    assert effects[(4, "task")]["difference"] == 0.0


def _write_sweep(root, cells):
    """A sweep-shaped folder: per cell an adapter card and an eval samples.jsonl."""
    for label, (n, seed, synth, fmt_share) in cells.items():
        adapter = root / "cells" / label / "adapter"
        adapter.mkdir(parents=True)
        by_source = {"catalog": 128 + n} | ({"synthetic-format": synth} if synth else {})
        card = {"target_count": n, "seed": seed, "data": {"counts": {"train_by_source": by_source}}}
        (adapter / "adapter_card.json").write_text(json.dumps(card))
        lines = []
        for i in range(40):
            pred = "positive" if i < fmt_share * 40 else "I think it is positive."
            lines.append({"model": label, "adapter_path": str(adapter), "suite": "in_domain", "task": "sentiment",
                          "sample_id": str(i), "prediction": pred, "gold": "positive", "reference": "positive",
                          "scores": {"task_tolerant": 1.0, "task_strict": float(pred == "positive")}})
        # a general-suite line is ignored
        lines.append(dict(lines[0], suite="general", task="topic"))
        out = root / "cells" / label / "eval-1"
        out.mkdir()
        (out / "samples.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
        rows = [{"model": label, "adapter_path": str(adapter), "suite": "in_domain", "task": "sentiment",
                 "scorer": sc, "mean": float(np.mean([x["scores"][sc] for x in lines[:40]]))}
                for sc in ("task_tolerant", "task_strict")]
        (out / "results.jsonl").write_text("".join(json.dumps(x) + "\n" for x in rows))


def test_meta_eval_dynamics_reports_intervals_and_the_synthetic_effect(tmp_path):
    cells = {}
    for seed in (0, 1):
        for n, share in ((0, 0.0), (4, 0.5), (16, 1.0)):
            cells[f"n={n}-synthetic=0-seed={seed}"] = (n, seed, 0, share)
            cells[f"n={n}-synthetic=64-seed={seed}"] = (n, seed, 64, min(1.0, share + 0.5))
    _write_sweep(tmp_path / "sweep", cells)
    got = load_prompt_scores(tmp_path / "sweep")
    assert {(p.n, p.source) for p in got} == {(n, s) for n in (0, 4, 16) for s in ("real", "synthetic")}
    dyn = analyse_dynamics(tmp_path / "sweep", tmp_path / "out")
    images, lines = [dyn.chart], dyn.lines
    data = json.loads((tmp_path / "out" / "dynamics.json").read_text())
    fmt4 = next(e for e in data["synthetic_effect"] if e["n"] == 4 and e["metric"] == "format")
    assert fmt4["difference"] == 0.5 and fmt4["ci"][0] > 0
    assert data["intervals"]["real"]["format_saturates_in"] == [16, 16]
    assert any("synthetic target-format rows at n=4 real rows, format: +0.500" in line and "helps" in line
               for line in lines)
    assert Image.open(images[0]).size[0] > 500


def test_helps_and_hurts_labels_hold_after_holm_over_every_comparison():
    effects = [{"n": n, "metric": "format", "difference": 0.1, "ci": [0.01, 0.2], "prompts": 40, "seeds": [2, 2],
                "p": 0.02} for n in (4, 16, 64)]
    lines = describe_intervals({}, add_holm(effects))
    assert [e["p_holm"] for e in effects] == [0.06, 0.06, 0.06]
    # each 95 % CI excludes 0, but three comparisons at p = 0.02 do not hold family-wise
    assert all("no difference the test set can resolve" in line and "Holm over 3 comparisons" in line
               for line in lines)
