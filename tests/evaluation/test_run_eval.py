"""End to end on tiny models: base + two PEFT adapters, both suites, every scorer; a rerun
makes no generation and no judge calls; a torn samples file is repaired; W&B gets the metrics."""

import json
import shutil

import pandas as pd
import pytest

from evaluation.judge_server import JudgeServer
from iftkit.config.loader import validate
from iftkit.evaluation.runner import run_eval
from iftkit.evaluation.scorers import list_scorers

CONTRACT_SAMPLE_KEYS = {"model", "adapter_path", "suite", "task", "category", "sample_id", "prompt", "prediction",
                        "reference", "gold", "scores", "judge"}


@pytest.fixture
def recipe_for(tiny_model_dir, mix_dir, tmp_path):
    def make(judge_url, reward_model, **eval_over):
        ev = {
            "mix_dir": str(mix_dir), "scorers": ["all"], "max_new_tokens": 6, "batch_size": 4,
            "instruction_samples_per_category": 1, "cache_dir": str(tmp_path / "cache"), "bootstrap_samples": 200,
            "reward_model": str(reward_model),
            "judge": {"backend": "openai", "base_url": judge_url, "model": "test-judge", "backoff_s": 0.01},
        }
        ev.update(eval_over)
        return validate({"model": {"id": str(tiny_model_dir)}, "data": {"target_task": "sentiment"},
                         "tracking": {"mode": "offline", "dir": str(tmp_path / "wandb")}, "eval": ev})

    return make


@pytest.fixture(scope="module")
def reward_dir(tmp_path_factory):
    import torch
    from transformers import LlamaConfig, LlamaForSequenceClassification

    from iftkit.testing.tiny import make_tokenizer

    tok = make_tokenizer()
    torch.manual_seed(1)
    path = tmp_path_factory.mktemp("reward")
    LlamaForSequenceClassification(LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                               num_attention_heads=4, num_key_value_heads=2, num_labels=1,
                                               pad_token_id=tok.pad_token_id)).save_pretrained(path)
    tok.save_pretrained(path)
    return path


def _adapter_with_wandb_run(src, dst, recipe):
    from iftkit.tracking import init_run, run_info

    shutil.copytree(src, dst)
    run = init_run(recipe, name="train-ratio-0.1")
    run.log({"train/loss": 1.0})
    info = run_info(run)
    run.finish()
    card = json.loads((dst / "adapter_card.json").read_text())
    card["wandb"] = info
    (dst / "adapter_card.json").write_text(json.dumps(card))
    return info


def test_base_and_two_adapters_every_scorer_then_cached_rerun(recipe_for, reward_dir, tiny_adapters, tmp_path):
    out = tmp_path / "results"
    with JudgeServer(faults=["429", "garbage"]) as server:
        recipe = recipe_for(server.url, reward_dir)
        adapter0 = tmp_path / "ad" / "ratio-0.1"
        wb = _adapter_with_wandb_run(tiny_adapters[0], adapter0, recipe)
        adapters = [str(adapter0), str(tiny_adapters[1])]
        first = run_eval(recipe, adapters, out, progress=False)
        n_rows = 3 + 2 + 11  # in-domain 3; general: 2 arithmetic + 1 per instruction category
        assert first.counters.generations_new == 3 * n_rows and first.counters.models_loaded == 3
        assert first.counters.judge_new > 0 and first.counters.judge_failed == 0
        calls = server.requests

        second = run_eval(recipe, adapters, out, progress=False)
        assert (second.counters.generations_new, second.counters.judge_new, second.counters.models_loaded) == (0, 0, 0)
        assert second.counters.generations_cached == 3 * n_rows
        assert server.requests == calls
        assert second.lines()[-1] == f"generations: 0 new, {3 * n_rows} cached; judge calls: 0 new, 0 cached"

    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert rows == second.rows
    assert pd.read_parquet(out / "results.parquet").shape[0] == len(rows)
    models = {"base", "ratio-0.1", "ratio-0.9"}
    scorers_seen = {(r["model"], r["suite"], r["scorer"]) for r in rows if r["task"] == "__all__"}
    for model in models:
        for name in set(list_scorers()) | {"judge_reference", "judge_ratio"}:
            suites = ["general"] if name == "ifeval" else ["in_domain", "general"]
            for suite in suites:
                assert (model, suite, name) in scorers_seen, (model, suite, name)
    for r in rows:
        assert r["n"] > 0 and (r["mean"] is None or r["ci_low"] <= r["mean"] + 1e-9 <= r["ci_high"] + 2e-9)
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 3 * n_rows and all(CONTRACT_SAMPLE_KEYS <= set(s) for s in samples)
    assert all(set(s["judge"]) == {"judge", "judge_pairwise"} for s in samples)
    by_model = {m: [s["prediction"] for s in samples if s["model"] == m] for m in models}
    assert by_model["base"] != by_model["ratio-0.1"]

    # the adapter's own W&B run got the eval metrics (offline run files, read back)
    from iftkit.training.wandb_offline import summarize

    files = list((tmp_path / "wandb").rglob(f"run-{wb['run_id']}.wandb"))
    keys = set()
    for f in files:
        for h in summarize(f)["history"]:
            keys |= set(h)
    assert "eval/in_domain/__all__/rougeL" in keys and "eval_base/general/__all__/judge" in keys


def test_torn_samples_file_is_repaired_and_only_missing_work_is_done(recipe_for, reward_dir, tiny_adapters, tmp_path):
    out = tmp_path / "results"
    with JudgeServer() as server:
        recipe = recipe_for(server.url, reward_dir, scorers=["exact_match", "judge"], instruction_set="none")
        run_eval(recipe, [str(tiny_adapters[0])], out, progress=False)
        text = (out / "samples.jsonl").read_text()
        lines = text.splitlines(keepends=True)
        # simulate a crash mid-write: the last record is half a line
        (out / "samples.jsonl").write_text("".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])
        calls = server.requests
        again = run_eval(recipe, [str(tiny_adapters[0])], out, progress=False)
        # the lost record's prediction comes from the generation cache; its judge calls from the judge cache
        assert again.counters.generations_new == 0 and again.counters.judge_new == 0 and server.requests == calls
        assert again.counters.judge_cached == 2  # candidate + reference verdicts of the one lost record
        samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
        assert len(samples) == len(lines)
        # a new scorer on a rerun fills only that scorer
        recipe2 = recipe_for(server.url, reward_dir, scorers=["exact_match", "judge", "chrf"], instruction_set="none")
        third = run_eval(recipe2, [str(tiny_adapters[0])], out, progress=False)
        assert third.counters.judge_new == 0 and third.counters.judge_cached == 0
        assert all("chrf" in json.loads(line)["scores"] for line in (out / "samples.jsonl").read_text().splitlines())


def test_changed_judge_or_decoding_is_not_served_stale(recipe_for, reward_dir, tiny_adapters, tmp_path):
    out = tmp_path / "results"
    with JudgeServer() as server:
        base = dict(scorers=["exact_match", "judge"], instruction_set="none", in_domain_samples=2)
        run_eval(recipe_for(server.url, reward_dir, **base), [], out, progress=False)
        other_judge = recipe_for(server.url, reward_dir, **base)
        other_judge.eval.judge.model = "another-judge"
        again = run_eval(other_judge, [], out, progress=False)
        assert again.counters.generations_new == 0 and again.counters.judge_new > 0
        longer = recipe_for(server.url, reward_dir, **{**base, "max_new_tokens": 9})
        third = run_eval(longer, [], out, progress=False)
        assert third.counters.generations_new == 4  # 2 sentiment + 2 arithmetic rows, new decoding config
