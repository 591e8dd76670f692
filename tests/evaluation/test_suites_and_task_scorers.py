"""Suites from a real mix (Data's build_mix) and the catalog's task scorers through the registry."""

import pytest

from iftkit.config.loader import validate
from iftkit.core.errors import IftkitError
from iftkit.data.synth import PAPER_CATEGORIES
from iftkit.evaluation.scorers import SampleRecord, get_scorer
from iftkit.evaluation.suites import build_suites, load_instruction_set, resolve_mix_dir
from iftkit.testing.cli_runs import assert_one_line_error, run_iftkit

# the instruction set covers the paper's categories, the same ones the teacher prompts for
CATEGORIES = set(PAPER_CATEGORIES)


def test_instruction_set_is_large_varied_and_self_consistent():
    rows = load_instruction_set()
    assert len(rows) >= 60 and {r.category for r in rows} == CATEGORIES
    assert len({r.content_hash() for r in rows}) == len(rows)
    with_instructions = [r for r in rows if r.meta.get("instruction_id_list")]
    assert len(with_instructions) >= 10
    pytest.importorskip("lm_eval")
    ifeval = get_scorer("ifeval")
    for r in with_instructions:  # every reference answer follows its own prompt's instructions (lm-eval's checks)
        got = ifeval.check(r.prompt[0]["content"], r.completion, r.meta["instruction_id_list"], r.meta["kwargs"])
        assert all(got["strict"]), (r.completion, got)


def test_old_constraints_key_is_refused_with_the_new_format_named(tmp_path):
    f = tmp_path / "mine.yaml"
    f.write_text("- {category: write, prompt: Hi, reference: Hello, constraints: [{type: no_commas}]}\n")
    with pytest.raises(IftkitError, match="item 1: 'constraints' was replaced by IFEval's fields: instruction_id_list"):
        load_instruction_set(str(f))


def test_suites_from_a_built_mix(tmp_path):
    recipe = validate(
        {
            "data": {"target_task": "sentiment", "general_tasks": ["arithmetic", "topic"], "samples_per_task": 40},
            "mix": {"target_ratio": 0.5, "total_size": 30, "val_size": 4, "test_size_per_task": 6},
            "eval": {"general_samples_per_task": 2, "instruction_samples_per_category": 1, "in_domain_samples": 5},
        }
    )
    mix = resolve_mix_dir(recipe, [], tmp_path)
    suites = build_suites(recipe, mix)
    assert [r.task for r in suites["in_domain"]] == ["sentiment"] * 5
    # trained-family general (catalog families' test rows) and held-out general (the instruction set) apart
    assert sorted(r.task for r in suites["general"]) == ["arithmetic", "arithmetic", "topic", "topic"]
    assert all(r.task.startswith("instruct_") for r in suites["held_out"])
    assert {r.category for r in suites["held_out"]} == CATEGORIES
    bad = recipe.model_copy(update={"eval": recipe.eval.model_copy(update={"suites": ["in_domain", "nope"]})})
    with pytest.raises(IftkitError, match="unknown suite"):
        build_suites(bad, mix)


def test_task_scorers_use_the_catalog(tmp_path):
    from iftkit.data.tasks import get_task

    row = get_task("sentiment").generate(1, seed=3)[0]
    label = row.completion

    def s(pred):
        return SampleRecord(row.prompt, pred, row.completion, row.gold, "sentiment", "classify")

    samples = [
        s(label),
        s(f"The review is {label}."),
        s("banana"),
        SampleRecord([], "x", "y", None, "instruct_write", "write"),
    ]
    strict = get_scorer("task_strict").score(samples)
    tolerant = get_scorer("task_tolerant").score(samples)
    fmt = get_scorer("task_format").score(samples)
    assert strict[0] == 1.0 and strict[2] == 0.0 and strict[3] is None
    assert tolerant[1] == 1.0 and tolerant[3] is None
    assert fmt[0] == 1.0 and fmt[1] == 0.0 and fmt[3] is None


def test_code_task_prediction_is_parsed_not_run(tmp_path):
    from iftkit.data.tasks import get_task

    row = get_task("code_output").generate(1, seed=0)[0]
    marker = tmp_path / "pwned"
    evil = f"__import__('os').system('touch {marker}')"
    sample = SampleRecord(row.prompt, evil, row.completion, row.gold, "code_output", "code")
    got = get_scorer("task_tolerant").score([sample])
    assert got == [0.0] and not marker.exists()


def test_user_instruction_sets_in_any_layout(tmp_path):
    from iftkit.data.rows import write_rows

    alpaca = tmp_path / "mine.jsonl"
    alpaca.write_text(
        '{"instruction": "Name a colour.", "output": "Blue."}\n'
        '{"instruction": "Shorten:", "input": "a very long sentence", "output": "long sentence", '
        '"category": "rewrite"}\n'
    )
    rows = load_instruction_set(str(alpaca))
    assert [(r.task, r.category) for r in rows] == [("instruct_user", "user"), ("instruct_rewrite", "rewrite")]
    assert (
        rows[1].prompt == [{"role": "user", "content": "Shorten:\n\na very long sentence"}]
        and rows[1].completion == "long sentence"
    )
    # iftkit rows (e.g. a slice of the built-in set) keep their category and IFEval instructions
    builtin = load_instruction_set()
    own = [r for r in builtin if r.meta.get("instruction_id_list")][:3]
    write_rows(tmp_path / "rows.jsonl", own)
    back = load_instruction_set(str(tmp_path / "rows.jsonl"))
    keep = ("instruction_id_list", "kwargs")
    assert [(r.task, r.prompt, r.completion, [r.meta[k] for k in keep]) for r in back] == [
        (r.task, r.prompt, r.completion, [r.meta[k] for k in keep]) for r in own
    ]
    bom_csv = tmp_path / "mine.csv"
    bom_csv.write_bytes(b"\xef\xbb\xbfprompt,completion,category\r\nSay hi,hi,chat\r\n")
    assert [r.task for r in load_instruction_set(str(bom_csv))] == ["instruct_chat"]
    recipe = validate(
        {
            "data": {"target_task": "sentiment", "general_tasks": ["topic"], "samples_per_task": 30},
            "mix": {"target_ratio": 0.5, "total_size": 20, "val_size": 2, "test_size_per_task": 4},
            "eval": {"suites": ["general", "held_out"], "instruction_set": str(alpaca)},
        }
    )
    suites = build_suites(recipe, resolve_mix_dir(recipe, [], tmp_path))
    assert sorted(r.task for r in suites["general"]) == ["topic", "topic", "topic", "topic"]
    assert sorted(r.task for r in suites["held_out"]) == ["instruct_rewrite", "instruct_user"]


def test_bad_instruction_set_files_are_one_line_errors(tmp_path):
    binary = tmp_path / "set.jsonl"
    binary.write_bytes(b"\x00\x01\x02\x03" * 50)
    with pytest.raises(IftkitError, match=rf"^{binary}: not a text file"):
        load_instruction_set(str(binary))
    latin = tmp_path / "set.yaml"
    latin.write_bytes('- {category: write, prompt: "\u00e9crire", reference: x}\n'.encode("latin-1"))
    with pytest.raises(IftkitError, match=rf"^{latin}:1: not UTF-8 text"):
        load_instruction_set(str(latin))
    with pytest.raises(IftkitError, match="eval.instruction_set: file not found"):
        load_instruction_set(str(tmp_path / "nope.csv"))


def test_eval_cli_with_a_binary_instruction_set_exits_with_one_line(tiny_model_dir, tmp_path):
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    binary = tmp_path / "set.jsonl"
    binary.write_bytes(b"\x00\x01\x02\x03" * 50)
    proc = run_iftkit(
        "eval",
        "--config",
        str(root / "recipes/quickstart.yaml"),
        "--out",
        str(tmp_path / "ev"),
        "--no-progress",
        "--model.id",
        str(tiny_model_dir),
        "--eval.suites",
        "[general, held_out]",
        "--eval.instruction_set",
        str(binary),
        "--data.general_tasks",
        "[topic]",
        "--data.samples_per_task",
        "30",
        "--mix.total_size",
        "20",
        "--mix.val_size",
        "2",
        "--mix.test_size_per_task",
        "4",
        pythonpath=root,
    )
    assert_one_line_error(proc, f"iftkit: error: {binary}: not a text file (binary content); "
                                "expected UTF-8 text")
