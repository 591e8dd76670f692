"""Aggregate rows: means, bootstrap CIs, the judge ratio as a ratio of means, failures counted."""

import pytest

from iftkit.evaluation.records import SampleRecord
from iftkit.evaluation.results import aggregate_rows, mean_ci
from iftkit.evaluation.scorers import get_scorer
from iftkit.evaluation.scorers.judge import ReferenceJudge


def rec(task, sid, scores, failed=()):
    return SampleRecord(
        [], "", "", model="m", suite="general", task=task, sample_id=sid, scores=scores, failed=list(failed)
    )


def test_eval_cis_bracket_the_mean_narrow_with_n_and_need_five_values():
    mean = lambda v: float(v.mean())  # noqa: E731
    lo, hi = mean_ci(mean, [[0, 1] * 10], 500)
    lo2, hi2 = mean_ci(mean, [[0, 1] * 200], 500)
    assert lo < 0.5 < hi and (hi2 - lo2) < (hi - lo)
    assert mean_ci(mean, [[0.3, 0.4]], 500) == (None, None)  # the same guard as meta-eval: no CI from 2 values


def test_aggregate_rows_ratio_failures_and_all_rows():
    outputs = {"exact_match": get_scorer("exact_match"), **ReferenceJudge().outputs()}
    records = [
        rec("a", "1", {"exact_match": 1.0, "judge": 8.0, "judge_reference": 10.0, "judge_ratio": 0.8}),
        rec("a", "2", {"exact_match": 0.0, "judge": 2.0, "judge_reference": 5.0, "judge_ratio": 0.4}),
        rec(
            "b",
            "3",
            {"exact_match": 1.0, "judge": None, "judge_reference": 10.0, "judge_ratio": None},
            failed=["judge"],
        ),
    ]
    rows = {(r["task"], r["scorer"]): r for r in aggregate_rows(records, outputs, n_boot=200)}
    assert rows[("a", "judge_ratio")]["mean"] == pytest.approx(10 / 15)  # ratio of means, not mean of ratios
    assert rows[("a", "exact_match")]["mean"] == 0.5 and rows[("__all__", "exact_match")]["n"] == 3
    assert (
        rows[("b", "judge")]["n"] == 0
        and rows[("b", "judge")]["n_failed"] == 1
        and rows[("b", "judge")]["mean"] is None
    )
    assert rows[("__all__", "judge")]["n_failed"] == 1 and rows[("__all__", "judge")]["mean"] == 5.0
    assert rows[("a", "judge")]["scale"] == [0.0, 10.0] and rows[("a", "judge_ratio")]["scale"] == [0.0, None]
