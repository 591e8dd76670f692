"""Degenerate answers (empty, or mostly one repeated piece) are counted and warned about, naming the model."""

from iftkit.evaluation.degenerate import count_degenerate, degenerate_warnings, is_degenerate, warning_line
from iftkit.evaluation.records import SampleRecord


def test_what_counts_as_degenerate():
    for text in ("", "   ", None, "<h2><h2><h2><h2><h2><h2>", "the the the the the the", "!!!!!!!!!!!!",
                 "positive positive positive positive"):
        assert is_degenerate(text), text
    for text in ("positive", "The review is negative.", '{"category": "billing", "priority": "high"}',
                 "1000000000", "0000", "ha ha ha", "Paris is the capital of France. Paris is big."):
        assert not is_degenerate(text), text


def test_warning_names_the_model_and_the_count_only_past_the_share():
    answers = ["<h2><h2><h2><h2><h2>"] * 3 + ["negative"] * 7
    line = warning_line("google/gemma-3-270m", answers)
    assert line.startswith("warning: google/gemma-3-270m: 3 of 10 answers are empty or one repeated piece")
    assert "'<h2><h2><h2><h2><h2>'" in line
    assert warning_line("m", ["<h2><h2><h2><h2><h2>"] + ["negative"] * 9) is None  # 1 in 10: noise, not a broken setup
    assert count_degenerate(answers) == (3, 10)


def test_eval_warnings_are_per_model():
    def rec(model, pred):
        return SampleRecord(prompt=[], prediction=pred, reference="", model=model)

    records = [rec("base", "")] * 4 + [rec("base", "ok")] + [rec("adapter", "positive")] * 5
    [line] = degenerate_warnings(records)
    assert line.startswith("warning: base: 4 of 5 answers")


def test_smoke_prints_the_warning(monkeypatch, capsys, tiny_model_dir):
    """`iftkit smoke` on a model that answers one repeated piece says so in its output."""
    from iftkit.cli import main
    from iftkit.models.chat.local import TransformersChat
    from iftkit.models.chat.types import Completion

    monkeypatch.setattr(TransformersChat, "complete_many", lambda self, *a, **k: [Completion("<h2><h2><h2><h2><h2>")])
    rc = main(["smoke", "--config", "recipes/quickstart.yaml", "--model.id", str(tiny_model_dir)])
    out = capsys.readouterr().out
    assert rc == 0 and f"warning: {tiny_model_dir}: 1 of 1 answers are empty or one repeated piece" in out
