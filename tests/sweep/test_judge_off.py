"""No compute for scores nobody may use: a sweep leaves out the judge outputs the trust gate keeps off every
axis (sweep/judge_off.py), says so in one line, and runs them when measured and passing or when
eval.judge.run_untrusted is true; what it leaves out changes no hash, so a sweep finished with the judge
still collects."""

import json

import pytest

from iftkit.config import identity as ids
from iftkit.config import load_recipe
from iftkit.core.errors import IftkitError
from iftkit.meta import judge_trust
from iftkit.sweep.grid import base_eval_hash
from iftkit.sweep.judge_off import judge_off, leave_out, not_run_line, without_judges
from iftkit.sweep.state import SweepState
from iftkit.testing.sweep_runs import CHEAP, run_sweep, sweep_recipe

WITH_JUDGE = dict(CHEAP, eval="{scorers: [task_tolerant, judge], max_new_tokens: 4, instruction_set: none}")
JUDGE_OUTPUTS = {"judge", "judge_reference", "judge_ratio"}
# the tiny judge grades reference answers 0 at times, which leaves judge_ratio without a value
ROWS_EXPECTED = {"judge", "judge_reference"}
LINE = "[judge] not run: `judge` (local:"
RUN_ANYWAY = "set eval.judge.run_untrusted: true to run it anyway"


def _trust(recipe, agree: int, pairs: int = 200):
    """A measurement of the recipe's reference-guided judge on `pairs` human pairs, `agree` of them agreeing."""
    summary = {"gate": {"n": pairs, "agree": agree}, "pairs": pairs}
    return judge_trust.record(recipe, summary, "humans.json", output="reference")


def test_only_a_judge_the_gate_admits_is_run_and_leaving_one_out_changes_no_hash(tmp_path, tiny_model_dir,
                                                                                isolated_cache):
    recipe = load_recipe(sweep_recipe(tmp_path, tiny_model_dir, grid="[1.0]", **WITH_JUDGE))
    off = judge_off(recipe, log=lambda *_: None)
    assert list(off) == ["judge"] and not off["judge"].trusted
    line = not_run_line(off)
    assert line.startswith(LINE) and "\n" not in line and line.endswith(RUN_ANYWAY)
    assert "reference-guided 0-10 judge) is untrusted (never measured against human judgments; " \
           "`iftkit meta-eval --human FILE` measures it)" in line
    evaluated = without_judges(recipe, off)
    assert evaluated.eval.scorers == ["task_tolerant"] and recipe.eval.scorers == ["task_tolerant", "judge"]

    _trust(recipe, agree=100)  # measured and failing: still left out, with its figure
    assert "human agreement 0.50 [0.43, 0.57] over 200 pairs: its lower bound 0.43 is below 0.65" \
        in not_run_line(judge_off(recipe, log=lambda *_: None))
    _trust(recipe, agree=190)  # measured and passing: run
    assert judge_off(recipe, log=lambda *_: None) == {}

    anyway = load_recipe(sweep_recipe(tmp_path, tiny_model_dir, grid="[1.0]", **WITH_JUDGE),
                         ["--eval.judge.run_untrusted", "true"])
    judge_trust.trust_path(judge_trust.cached(recipe, output="reference").key).unlink()
    assert judge_off(anyway, log=lambda *_: None) == {}
    for sections in (ids.EVAL_SECTIONS, ids.BASE_EVAL_SECTIONS):  # so a finished sweep stays finished
        assert ids.recipe_identity_hash(anyway, sections) == ids.recipe_identity_hash(recipe, sections)
    assert ids.legacy_hash(anyway, ids.EVAL_SECTIONS) == ids.legacy_hash(recipe, ids.EVAL_SECTIONS)


def _rows(root):
    return [json.loads(line) for line in (root / "results.jsonl").read_text().splitlines()]


def _judged(rows) -> set:
    """(cell, judge output) of every judge row."""
    return {(r["cell"], r["scorer"]) for r in rows if r["scorer"] in JUDGE_OUTPUTS}


@pytest.mark.slow
def test_a_sweep_runs_the_judge_only_when_trusted_or_asked_and_keeps_what_it_ran(tmp_path, tiny_model_dir,
                                                                                monkeypatch):
    path = sweep_recipe(tmp_path, tiny_model_dir, grid="[1.0]", **WITH_JUDGE)
    root, cell = tmp_path / "runs" / "tiny-sweep", "ratio=1.0-seed=0"
    monkeypatch.setenv("IFTKIT_CACHE", str(tmp_path / "cache"))  # the cache the sweep's processes use
    recipe = load_recipe(path)

    # never measured: the judge is never asked, one line says so and how to turn it on
    out = run_sweep(path, tmp_path).stdout
    assert out.count(LINE) == 1 and RUN_ANYWAY in out and "judge calls: 0 new, 0 cached" in out
    assert "[base] generations:" in out and _judged(_rows(root)) == set()
    assert {r["scorer"] for r in _rows(root)} == {"task_tolerant"}
    report = (root / "report" / "report.md").read_text()
    assert "## Judge trust" in report and "not run by this sweep" in report and "never measured" in report

    # measured and passing since: the points are scored by the judge, nothing retrained or regenerated
    _trust(recipe, agree=190)
    out = run_sweep(path, tmp_path).stdout
    assert LINE not in out and "trained in" not in out and "generations: 0 new" in out
    assert _judged(_rows(root)) >= {(c, o) for c in ("base", cell) for o in ROWS_EXPECTED}
    assert SweepState(root).get("base")["eval_hash"] == base_eval_hash(recipe)

    # the measurement gone: the line again, but a point finished with the judge stays finished and collected
    judge_trust.trust_path(judge_trust.cached(recipe, output="reference").key).unlink()
    out = run_sweep(path, tmp_path).stdout
    assert out.count(LINE) == 1 and "done earlier, skipped" in out and "[base] evaluating" not in out
    assert _judged(_rows(root)) >= {(c, o) for c in ("base", cell) for o in ROWS_EXPECTED}
    assert "Kept off the primary scorer and the general axis" in (root / "report" / "report.md").read_text()

    # eval.judge.run_untrusted: a new point (a scaled adapter) is scored by the untrusted judge
    scaled = f"{cell}-adapter_scale=0.5"
    out = run_sweep(path, tmp_path, "--sweep.adapter_scales", "[0.5, 1.0]", "--eval.judge.run_untrusted",
                    "true").stdout
    assert LINE not in out and "trained in" not in out and "[base] evaluating" not in out
    assert {(scaled, o) for o in ROWS_EXPECTED} <= _judged(_rows(root))


def test_a_sweep_whose_only_scorer_is_a_refused_judge_stops_in_one_line_before_training(tmp_path, tiny_model_dir,
                                                                                       isolated_cache):
    only = dict(CHEAP, eval="{scorers: [judge], max_new_tokens: 4, instruction_set: none}")
    recipe = load_recipe(sweep_recipe(tmp_path, tiny_model_dir, grid="[1.0]", **only))
    with pytest.raises(IftkitError) as err:
        leave_out(recipe, say=lambda *_: None)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("eval.scorers: judge only") and RUN_ANYWAY.split(" to ")[0] in msg
    anyway = recipe.model_copy(deep=True)
    anyway.eval.judge.run_untrusted = True
    assert leave_out(anyway, say=lambda *_: None) == {}
