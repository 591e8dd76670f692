"""lm-evaluation-harness in the eval stage: local tasks on the tiny model + adapter, rows, cache,
provenance, user errors; the packaged offline tasks."""

import json
from importlib import metadata

import pytest
import yaml

from iftkit.cli import main
from iftkit.evaluation.harness.build_tasks import MC_FILE, mc_documents
from iftkit.evaluation.harness.tasks import packaged_task_dir

pytest.importorskip("lm_eval")

MC_YAML = """task: tiny_mc
dataset_path: json
dataset_kwargs:
  data_files:
    test: data/tiny_mc.jsonl
test_split: test
output_type: multiple_choice
doc_to_text: "Q: {{question}}\\nA:"
doc_to_choice: choices
doc_to_target: answer
metric_list:
  - metric: acc
    aggregation: mean
    higher_is_better: true
  - metric: acc_norm
    aggregation: mean
    higher_is_better: true
"""


def _task_dir(tmp_path):
    d = tmp_path / "tasks"
    (d / "data").mkdir(parents=True)
    (d / "tiny_mc.yaml").write_text(MC_YAML)
    docs = [
        {"question": f"Which word is number {i}?", "choices": ["one", "two", "three"], "answer": i % 3}
        for i in range(8)
    ]
    (d / "data" / "tiny_mc.jsonl").write_text("".join(json.dumps(x) + "\n" for x in docs))
    return d


def _recipe(tmp_path, tiny_model_dir, lm_eval):
    path = tmp_path / "bench.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "model": {"id": str(tiny_model_dir)},
                "tracking": {"mode": "disabled"},
                "eval": {
                    "suites": [],
                    "scorers": ["exact_match"],
                    "cache_dir": str(tmp_path / "cache"),
                    "lm_eval": lm_eval,
                },
            }
        )
    )
    return path


def _rows(out):
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_iftkit_eval_runs_local_lm_eval_tasks_on_base_and_adapter_then_reads_them_from_cache(
    tmp_path, tiny_model_dir, tiny_adapters, capsys
):
    task_dir = _task_dir(tmp_path)
    recipe = _recipe(
        tmp_path,
        tiny_model_dir,
        {"tasks": ["tiny_mc", "iftkit_ifeval"], "limit": 6, "max_gen_toks": 8, "task_dir": "tasks", "batch_size": 4},
    )  # task_dir: relative to the recipe
    out = tmp_path / "out"
    args = ["eval", "--config", str(recipe), "--adapters", str(tiny_adapters[0]), "--out", str(out), "--no-progress"]
    assert main(args) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].endswith("lm-eval tasks: 4 new, 0 cached")
    rows = _rows(out)
    got = {(r["model"], r["suite"], r["scorer"]) for r in rows}
    for model in ("base", "ratio-0.1"):
        assert {(model, "lm_eval/tiny_mc", m) for m in ("acc", "acc_norm")} <= got
        assert {
            (model, "lm_eval/iftkit_ifeval", m)
            for m in (
                "prompt_level_strict_acc",
                "inst_level_strict_acc",
                "prompt_level_loose_acc",
                "inst_level_loose_acc",
            )
        } <= got
    version = metadata.version("lm_eval")
    for r in rows:
        assert r["n"] == 6 and r["task"] == "__all__" and r["harness"] == f"lm-eval {version}" and r["limit"] == 6
        assert len(r["task_config_hash"]) == 16
        if r["scorer"] in ("acc", "acc_norm", "prompt_level_strict_acc"):
            # a mean of 0/1 values over 6 documents: the harness's stderr is the sample one
            assert r["stderr"] == pytest.approx((r["mean"] * (1 - r["mean"]) / 5) ** 0.5)
            assert r["ci_low"] == pytest.approx(r["mean"] - 1.959964 * r["stderr"])
            assert r["ci_high"] == pytest.approx(r["mean"] + 1.959964 * r["stderr"])
    # the adapter is loaded on top of the base model: its answers differ from the base model's
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    mc = {(s["model"], s["sample_id"]): s for s in samples if s["suite"] == "lm_eval/tiny_mc"}
    assert len(mc) == 12 and all(set(s["scores"]) == {"acc", "acc_norm"} for s in mc.values())
    assert any(mc[("base", sid)]["prediction"] != mc[("ratio-0.1", sid)]["prediction"] for _, sid in mc)
    parquet = __import__("pandas").read_parquet(out / "results.parquet")
    assert {"stderr", "harness", "task_config_hash"} <= set(parquet.columns)

    assert main(args) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].endswith("lm-eval tasks: 0 new, 4 cached")
    assert _rows(out) == rows
    # a changed task file is a different task: only it is recomputed, for both models
    (task_dir / "data" / "tiny_mc.jsonl").write_text(
        (task_dir / "data" / "tiny_mc.jsonl").read_text().replace("one", "uno")
    )
    assert main(args) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].endswith("lm-eval tasks: 2 new, 2 cached")


def test_lm_eval_user_errors_are_one_line(tmp_path, tiny_model_dir, capsys):
    recipe = _recipe(tmp_path, tiny_model_dir, {"tasks": ["no_such_task_xyz"]})
    assert main(["eval", "--config", str(recipe), "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown task 'no_such_task_xyz'" in err[0]
    task_dir = _task_dir(tmp_path)
    (task_dir / "data" / "tiny_mc.jsonl").unlink()
    recipe = _recipe(tmp_path, tiny_model_dir, {"tasks": ["tiny_mc"], "task_dir": str(task_dir)})
    assert main(["eval", "--config", str(recipe), "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "tiny_mc.yaml: dataset_kwargs.data_files: file not found" in err[0]


def test_packaged_tasks_are_what_their_builders_say():
    folder = packaged_task_dir()
    shipped = [json.loads(line) for line in (folder / MC_FILE).read_text().splitlines()]
    assert shipped == mc_documents()
    assert all(len(d["choices"]) == 4 and 0 <= d["answer"] < 4 for d in shipped)
    from iftkit.evaluation.harness.env import sentence_splitter

    sentence_splitter()
    from lm_eval.tasks.ifeval.instructions_registry import INSTRUCTION_DICT

    rows = [json.loads(line) for line in (folder / "iftkit_ifeval.jsonl").read_text().splitlines()]
    assert {i for r in rows for i in r["instruction_id_list"]} == set(INSTRUCTION_DICT)  # every instruction type
    assert all(set(r) == {"key", "prompt", "instruction_id_list", "kwargs"} for r in rows)
    assert all(len(r["kwargs"]) == len(r["instruction_id_list"]) for r in rows)


def test_the_harness_renders_a_base_models_prompts_in_iftkits_format_with_one_bos(tmp_path):
    """A base model without a chat template: the harness gets iftkit's plain-turns template (the format
    adapters learn) and, seeing BOS at the start of the rendered prompt, adds no second one."""
    from iftkit.config import load_recipe
    from iftkit.evaluation.generator import ModelUnderTest
    from iftkit.evaluation.harness.benchmarks import _load
    from iftkit.models.chat_format import plain_turns_template, prompt_ids
    from iftkit.testing.tokenizer_styles import save_style_model

    model_dir = save_style_model(tmp_path / "llama-base", "llama_base")
    recipe = load_recipe(_recipe(tmp_path, model_dir, {"tasks": ["tiny_mc"], "task_dir": str(_task_dir(tmp_path))}))
    lm = _load(recipe, ModelUnderTest("base", str(model_dir)))
    assert lm.tokenizer.chat_template == plain_turns_template(bos=True)
    messages = [{"role": "user", "content": "What is 12 plus 7?"}]
    text = lm.apply_chat_template(messages)
    ids, _ = lm.tok_batch_encode([text])
    assert ids[0].tolist() == prompt_ids(lm.tokenizer, messages)
    assert ids[0].tolist().count(lm.tokenizer.bos_token_id) == 1
    assert lm.tok_encode(text) == ids[0].tolist()
