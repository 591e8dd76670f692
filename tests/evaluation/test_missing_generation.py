"""A generation that failed (prediction None) is a failure on every scorer, never a score of 0."""

import json

from iftkit.evaluation.evaluate import score_records
from iftkit.evaluation.records import SampleRecord
from iftkit.evaluation.results import aggregate_rows
from iftkit.evaluation.scorers import get_scorer
from iftkit.meta.samples import gold_reference


def _rec(sid, prediction):
    return SampleRecord([{"role": "user", "content": "Review: great. Sentiment?"}], prediction, "positive",
                        gold="positive", task="sentiment", model="m", suite="in_domain", sample_id=sid)


def test_a_missing_generation_is_failed_on_every_scorer_and_left_out_of_the_mean():
    records = [_rec("1", "positive"), _rec("2", "negative"), _rec("3", None)]
    scorers = {"task_tolerant": get_scorer("task_tolerant"), "exact_match": get_scorer("exact_match")}
    for name, scorer in scorers.items():
        assert score_records(name, scorer, records) == records
    missing = records[2]
    assert missing.scores == {"task_tolerant": None, "exact_match": None}
    assert missing.failed == ["exact_match", "task_tolerant"]
    outputs = {o: s for sc in scorers.values() for o, s in sc.outputs().items()}
    rows = {(r["task"], r["scorer"]): r for r in aggregate_rows(records, outputs, n_boot=0)}
    row = rows[("__all__", "task_tolerant")]
    assert (row["mean"], row["n"], row["n_failed"]) == (0.5, 2, 1)  # not 1/3: the missing answer is no 0
    # the record is tried again on the next run (its scorer ids are not those of a scored record)
    assert missing in score_records("task_tolerant", scorers["task_tolerant"], records)


def test_a_missing_prediction_survives_samples_jsonl_and_gets_no_reference_judgment():
    line = json.loads(json.dumps(_rec("3", None).to_dict()))
    back = SampleRecord.from_dict(line, "samples.jsonl:1")
    assert back.prediction is None
    assert gold_reference([back, _rec("1", "positive")]) == [None, 1.0]
