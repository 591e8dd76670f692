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
    # each row names how its mean was made
    assert rows[("a", "judge_ratio")]["aggregation"] == "ratio of means"
    assert rows[("a", "exact_match")]["aggregation"] == rows[("a", "judge")]["aggregation"] == "mean per answer"


def test_record_list_suites_get_micro_precision_recall_f1_beside_the_row_mean():
    import json

    from iftkit.data.tasks import TaskSpec
    from iftkit.evaluation.scorers.task import RecordItems

    spec = TaskSpec("structured", item_key="text").to_dict()

    def ent(*pairs):
        return json.dumps([{"text": t, "type": k} for t, k in pairs])

    gold = ent(("Ann", "PER"), ("Oslo", "LOC"), ("ACME", "ORG"))
    answers = [
        ent(("Ann", "PER"), ("Oslo", "LOC")),  # 2 of 2 right, 2 of 3 found
        ent(("Ann", "LOC")),  # wrong type: 0 matched (1 on the text field)
        ent(("Ann", "PER"), ("Oslo", "LOC"), ("ACME", "ORG"), ("Bo", "PER")),  # 3 right, one extra
    ]
    records = [
        SampleRecord([], a, gold, gold=gold, task="ner", model="m", suite="in_domain", sample_id=str(i),
                     meta={"task_spec": spec})
        for i, a in enumerate(answers)
    ]
    scorer = RecordItems()
    res = scorer.score_detailed(records)
    for k, r in enumerate(records):
        r.scores = {o: v[k] for o, v in res.values.items()}
    rows = {r["scorer"]: r for r in aggregate_rows(records, scorer.outputs(), n_boot=0) if r["task"] == "ner"}
    tp, pred, want = 2 + 0 + 3, 2 + 1 + 4, 9  # pooled counts, by hand
    assert rows["task_items_precision"]["mean"] == pytest.approx(tp / pred)
    assert rows["task_items_recall"]["mean"] == pytest.approx(tp / want)
    assert rows["task_items_f1"]["mean"] == pytest.approx(2 * tp / (pred + want))
    # matched on the text field only, the wrong-type answer finds 1 of 3: per-row F1 0.8, 0.5, 6/7
    assert rows["task_items_key_f1"]["mean"] == pytest.approx((0.8 + 0.5 + 6 / 7) / 3)
    assert {o: r["aggregation"] for o, r in rows.items()} == {
        "task_items_f1": "micro over items", "task_items_precision": "micro over items",
        "task_items_recall": "micro over items", "task_items_key_f1": "mean per answer"}
    # a task whose golds are not lists gets none of these rows
    plain = [SampleRecord([], "x", "y", gold="y", task="other", model="m", suite="s", sample_id="1")]
    res = scorer.score_detailed(plain)
    assert all(v == [None] for v in res.values.values())


def test_a_record_list_tasks_tolerant_score_is_declared_continuous_so_its_interval_is_not_the_0_1_one():
    # the entity example's task_tolerant is a per-answer item F1 (0.667, 0.5...): rows said "binary", so the report
    # gave it the 0/1 corrections (Agresti-Min pseudo-prompts, Wilson floor) that issue 33 keeps off shares
    import json

    from iftkit.data.tasks import TaskSpec
    from iftkit.evaluation.scorers.task import TaskScore

    spec = TaskSpec("structured", item_key="text").to_dict()
    gold = json.dumps([{"text": "Ann", "type": "PER"}, {"text": "Oslo", "type": "LOC"}])
    answers = [gold, json.dumps([{"text": "Ann", "type": "PER"}]), "[]", "none of them"] * 3
    records = [SampleRecord([], a, gold, gold=gold, task="ner", model="m", suite="in_domain", sample_id=str(i),
                            meta={"task_spec": spec}) for i, a in enumerate(answers)]
    label = TaskSpec("label", labels=["negative", "positive"]).to_dict()
    records += [SampleRecord([], a, "positive", gold="positive", task="reviews", model="m", suite="in_domain",
                             sample_id=f"l{i}", meta={"task_spec": label})
                for i, a in enumerate(["positive", "negative"] * 3)]
    outputs = {o: TaskScore(o.split("_")[1]) for o in ("task_tolerant", "task_strict")}
    for o, scorer in outputs.items():
        for r, v in zip(records, scorer.score(records)):
            r.scores[o] = v
    rows = {(r["task"], r["scorer"]): r for r in aggregate_rows(records, outputs, n_boot=0)}
    assert {r["scores"]["task_tolerant"] for r in [vars(x) for x in records[:4]]} == {1.0, 2 / 3, 0.0}
    assert rows[("ner", "task_tolerant")]["values"] == "continuous"
    assert rows[("__all__", "task_tolerant")]["values"] == "continuous"
    assert rows[("ner", "task_strict")]["values"] == "binary"
    assert rows[("reviews", "task_tolerant")]["values"] == "binary"
