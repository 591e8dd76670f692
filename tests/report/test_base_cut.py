"""The base model's cut answers are shown beside the comparisons with it (the Recommendation)."""

from report.test_report import CELLS, rows_for

from iftkit.report.axes import ReportSpec
from iftkit.report.render import write_report


def _recommendation(md: str) -> str:
    return md.split("## Recommendation")[1].split("##")[0]


def test_the_base_models_cut_share_stands_beside_the_recommendation(tmp_path):
    rows = rows_for(CELLS)
    for r in rows:  # the base model explained at length and hit the 32-token limit; the adapters answer a label
        r.update(n_answers=40, n_truncated=36 if r["cell"] == "base" else 0, max_new_tokens=32)
    md = write_report(rows, tmp_path, ReportSpec("demo", "mix.target_ratio", "task_tolerant", 0.95),
                      {"target_task": "sentiment"}).markdown.read_text()
    assert "- base model: 36 of 40 answers cut at 32 tokens" in _recommendation(md)
    assert "Warning: 36 of 40 answers of base model hit the 32-token limit" in md  # the cut list keeps it too


def test_no_line_when_the_base_models_answers_were_whole(tmp_path):
    rows = rows_for(CELLS)
    for r in rows:
        r.update(n_answers=40, n_truncated=0 if r["cell"] == "base" else 3, max_new_tokens=128)
    md = write_report(rows, tmp_path, ReportSpec("demo", "mix.target_ratio", "task_tolerant", 0.95),
                      {"target_task": "sentiment"}).markdown.read_text()
    assert "base model:" not in _recommendation(md)
