"""End to end on tiny models: base + two PEFT adapters, both suites, every scorer; a rerun
makes no generation and no judge calls; a torn samples file is repaired; W&B gets the metrics."""

import json
import shutil

import pandas as pd
import pytest

from iftkit.config.loader import validate
from iftkit.evaluation.evaluate import run_eval
from iftkit.evaluation.scorers import list_scorers
from iftkit.testing.judge_server import JudgeServer

CONTRACT_SAMPLE_KEYS = {
    "model",
    "adapter_path",
    "suite",
    "task",
    "category",
    "sample_id",
    "prompt",
    "prediction",
    "reference",
    "gold",
    "scores",
    "judge",
}


@pytest.fixture
def recipe_for(tiny_model_dir, mix_dir, tmp_path):
    def make(judge_url, reward_model, **eval_over):
        ev = {
            "mix_dir": str(mix_dir),
            "scorers": ["all"],
            "max_new_tokens": 6,
            "batch_size": 4,
            "instruction_samples_per_category": 1,
            "cache_dir": str(tmp_path / "cache"),
            "bootstrap_samples": 200,
            "reward_model": str(reward_model),
            "judge": {"backend": "openai", "base_url": judge_url, "model": "test-judge", "backoff_s": 0.01},
        }
        ev.update(eval_over)
        return validate(
            {
                "model": {"id": str(tiny_model_dir)},
                "data": {"target_task": "sentiment"},
                "tracking": {"mode": "offline", "dir": str(tmp_path / "wandb")},
                "eval": ev,
            }
        )

    return make


@pytest.fixture(scope="module")
def reward_dir(tmp_path_factory):
    import torch
    from transformers import LlamaConfig, LlamaForSequenceClassification

    from iftkit.testing.tiny import make_tokenizer

    tok = make_tokenizer()
    torch.manual_seed(1)
    path = tmp_path_factory.mktemp("reward")
    LlamaForSequenceClassification(
        LlamaConfig(
            vocab_size=len(tok),
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=1,
            num_attention_heads=4,
            num_key_value_heads=2,
            num_labels=1,
            pad_token_id=tok.pad_token_id,
        )
    ).save_pretrained(path)
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
        n_rows = 3 + 2 + 11  # in-domain 3; general: 2 arithmetic; held_out: 1 per instruction category
        assert first.counters.generations.new == 3 * n_rows and first.counters.models_loaded == 3
        assert first.counters.judge.new > 0 and first.counters.judge.failed == 0
        # the tiny model at init_std 0.02 answers one token over and over: eval says so, naming the model
        assert any(line.startswith("warning: base: ") and "one repeated piece" in line for line in first.lines())
        calls = server.requests

        second = run_eval(recipe, adapters, out, progress=False)
        assert (second.counters.generations.new, second.counters.judge.new, second.counters.models_loaded) == (0, 0, 0)
        assert second.counters.generations.cached == 3 * n_rows
        assert server.requests == calls
        assert second.lines()[-1] == f"generations: 0 new, {3 * n_rows} cached; judge calls: 0 new, 0 cached"

    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert rows == second.rows
    assert pd.read_parquet(out / "results.parquet").shape[0] == len(rows)
    models = {"base", "ratio-0.1", "ratio-0.9"}
    scorers_seen = {(r["model"], r["suite"], r["scorer"]) for r in rows if r["task"] == "__all__"}
    for model in models:
        # task_items applies to list answers only (tests/evaluation/test_results.py), which this task has none of;
        # ifbench to the ifbench suite only (tests/evaluation/test_ifbench_suite.py); nll to the forgetting
        # suite's measured likelihoods only (tests/evaluation/test_forgetting.py)
        only_their_suite = {"ifeval", "ifbench", "task_items", "nll"}
        for name in (set(list_scorers()) - only_their_suite) | {"judge_reference", "judge_ratio"}:
            for suite in ("in_domain", "general"):
                assert (model, suite, name) in scorers_seen, (model, suite, name)
        for name in ("ifeval_prompt_strict", "ifeval_prompt_loose", "ifeval_inst_strict", "ifeval_inst_loose"):
            assert (model, "held_out", name) in scorers_seen  # only the instruction set carries IFEval instructions
    for r in rows:
        assert r["n"] > 0 and (
            r["mean"] is None or r["ci_low"] is None or r["ci_low"] <= r["mean"] + 1e-9 <= r["ci_high"] + 2e-9
        )
        assert (r["ci_low"] is None) == (r["ci_high"] is None)
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 3 * n_rows and all(CONTRACT_SAMPLE_KEYS <= set(s) for s in samples)
    # per-sample details: the judges' verdicts, and lm-eval's per-instruction IFEval checks where a row has instructions
    assert all(
        set(s["judge"]) == {"judge", "judge_pairwise"} | ({"ifeval"} if s["meta"].get("instruction_id_list") else set())
        for s in samples
    )
    by_model = {m: [s["prediction"] for s in samples if s["model"] == m] for m in models}
    assert by_model["base"] != by_model["ratio-0.1"]

    # the adapter's own W&B run got the eval metrics (offline run files, read back)
    from iftkit.training.wandb_offline import summarize, written_out

    written_out()
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
        assert again.counters.generations.new == 0 and again.counters.judge.new == 0 and server.requests == calls
        assert again.counters.judge.cached == 2  # candidate + reference verdicts of the one lost record
        samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
        assert len(samples) == len(lines)
        # a new scorer on a rerun fills only that scorer
        recipe2 = recipe_for(server.url, reward_dir, scorers=["exact_match", "judge", "chrf"], instruction_set="none")
        third = run_eval(recipe2, [str(tiny_adapters[0])], out, progress=False)
        assert third.counters.judge.new == 0 and third.counters.judge.cached == 0
        assert all("chrf" in json.loads(line)["scores"] for line in (out / "samples.jsonl").read_text().splitlines())


def test_changed_judge_or_decoding_is_not_served_stale(recipe_for, reward_dir, tiny_adapters, tmp_path):
    out = tmp_path / "results"
    with JudgeServer() as server:
        base = dict(scorers=["exact_match", "judge"], instruction_set="none", in_domain_samples=2)
        run_eval(recipe_for(server.url, reward_dir, **base), [], out, progress=False)
        other_judge = recipe_for(server.url, reward_dir, **base)
        other_judge.eval.judge.model = "another-judge"
        again = run_eval(other_judge, [], out, progress=False)
        assert again.counters.generations.new == 0 and again.counters.judge.new > 0
        longer = recipe_for(server.url, reward_dir, **{**base, "max_new_tokens": 9})
        third = run_eval(longer, [], out, progress=False)
        # the 2 arithmetic rows: a new decoding config. The sentiment rows' limit is sized to their
        # one-word answers (answer_length.py), above both general limits, so it did not change
        assert third.counters.generations.new == 2
        fixed = recipe_for(server.url, reward_dir, **{**base, "max_new_tokens": 9, "in_domain_max_new_tokens": 3})
        fourth = run_eval(fixed, [], out, progress=False)
        assert fourth.counters.generations.new == 2  # the 2 sentiment rows, under the limit the recipe set


def _eval_cli(tmp_path, recipe, out):
    """`iftkit eval` on a recipe object (written to YAML as a user would), base model only."""
    import yaml

    from iftkit.cli import main

    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe.model_dump(mode="json")))
    return main(["eval", "--config", str(path), "--out", str(out), "--no-progress"])


def test_dead_judge_trips_the_breaker_exits_nonzero_and_the_rerun_resumes(recipe_for, reward_dir, tmp_path, capsys):
    from models.test_chat_http import refused_port

    port = refused_port()
    out = tmp_path / "results"
    recipe = recipe_for(
        f"http://127.0.0.1:{port}/v1",
        reward_dir,
        scorers=["exact_match", "judge", "judge_pairwise"],
        instruction_set="none",
        in_domain_samples=2,
    )
    recipe.tracking.mode = "disabled"
    assert _eval_cli(tmp_path, recipe, out) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip() and "Loading weights" not in line]
    assert len(err) == 1 and err[0].startswith(
        "iftkit: error: judge stopped: 5 consecutive connection failures to "
        f"http://127.0.0.1:{port}/v1/chat/completions"
    )
    assert "rerun the same command to resume" in err[0]
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    n = len(samples)  # 2 sentiment + 2 arithmetic rows
    assert n == 4 and all(s["scores"]["exact_match"] is not None for s in samples)  # the rest of the run is kept
    for s in samples:
        assert set(s["failed"]) == {"judge", "judge_reference", "judge_ratio", "judge_pairwise"}
        assert s["judge"]["judge"]["retry"] and "circuit breaker open" in s["judge"]["judge"]["error"]
    rows = {
        (r["suite"], r["task"], r["scorer"]): r
        for r in map(json.loads, (out / "results.jsonl").read_text().splitlines())
    }
    assert (
        rows[("in_domain", "__all__", "judge_reference")]["n_failed"] == 2
    )  # the reference verdicts count as failed too

    with JudgeServer(port=port) as server:  # the server is back: the rerun judges what failed, nothing else
        assert _eval_cli(tmp_path, recipe, out) == 0
        last = capsys.readouterr().out.strip().splitlines()
        assert last[-1] == f"generations: 0 new, {n} cached; judge calls: {server.requests} new, 0 cached"
        assert f"judge verdicts: {4 * n} scored, 0 unparseable, 0 failed requests" in last[-2]
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert all(not s["failed"] and not s["judge"]["judge"]["retry"] for s in samples)


def test_unparseable_reference_verdict_is_counted_in_results(recipe_for, reward_dir, tmp_path):
    from iftkit.data.rows import Row, write_rows

    rows = [
        Row(prompt=[{"role": "user", "content": f"Name colour {i}"}], completion=c, task="colours", category="misc")
        for i, c in enumerate(["red", "UNPARSEABLE blue", "green"])
    ]
    write_rows(tmp_path / "colours.jsonl", rows)
    with JudgeServer() as server:
        recipe = recipe_for(
            server.url,
            reward_dir,
            scorers=["judge"],
            suites=["colours"],
            extra_suites={"colours": str(tmp_path / "colours.jsonl")},
        )
        report = run_eval(recipe, [], tmp_path / "out", progress=False)
    by = {r["scorer"]: r for r in report.rows if r["task"] == "colours"}
    assert (by["judge"]["n"], by["judge"]["n_failed"]) == (3, 0)
    assert (by["judge_reference"]["n"], by["judge_reference"]["n_failed"]) == (2, 1)
    assert (by["judge_ratio"]["n"], by["judge_ratio"]["n_failed"]) == (2, 1)
    assert report.counters.verdicts.unparseable == 1 and report.counters.verdicts.scored == 5
    assert "judge verdicts: 5 scored, 1 unparseable, 0 failed requests" in report.lines()[-2]


def test_corrupt_cache_is_moved_aside_with_one_warning(recipe_for, reward_dir, tmp_path, capsys):
    recipe = recipe_for(
        "http://127.0.0.1:9/v1", reward_dir, scorers=["exact_match"], instruction_set="none", in_domain_samples=2
    )
    recipe.tracking.mode = "disabled"
    assert _eval_cli(tmp_path, recipe, tmp_path / "out") == 0
    cache = tmp_path / "cache" / "generations.sqlite"
    with open(cache, "r+b") as f:  # the first bytes overwritten: no longer a SQLite file
        f.write(b"garbage!" * 8)
    capsys.readouterr()
    assert _eval_cli(tmp_path, recipe, tmp_path / "out2") == 0
    captured = capsys.readouterr()
    warning = [line for line in captured.err.splitlines() if "warning" in line]
    assert len(warning) == 1 and warning[0].startswith(f"iftkit: warning: cache {cache} is unreadable")
    aside = list(cache.parent.glob("generations.sqlite.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"garbage!")
    assert captured.out.strip().splitlines()[-1].startswith("generations: 4 new, 0 cached")


def test_answers_cut_by_the_length_limit_are_counted_in_rows_and_summary(recipe_for, reward_dir, tmp_path):
    with JudgeServer() as server:
        recipe = recipe_for(server.url, reward_dir, scorers=["exact_match"], instruction_set="none",
                            in_domain_max_new_tokens=2)
        report = run_eval(recipe, [], tmp_path / "results", progress=False)
    rows = {(r["suite"], r["task"]): r for r in report.rows if r["scorer"] == "exact_match"}
    ind = rows[("in_domain", "__all__")]
    # the tiny random model never ends an answer within 2 tokens: every in-domain answer is cut
    assert (ind["n_answers"], ind["n_truncated"], ind["max_new_tokens"]) == (3, 3, 2)
    assert rows[("general", "__all__")]["max_new_tokens"] == 6
    lines = report.lines()
    assert "in_domain answers: up to 2 new tokens (eval.in_domain_max_new_tokens, set in the recipe)" in lines
    assert any(line.startswith("Warning: 3 of 3 answers of base on in_domain hit the 2-token limit") for line in lines)
    samples = [json.loads(x) for x in (tmp_path / "results" / "samples.jsonl").read_text().splitlines()]
    assert all(s["truncated"] is True for s in samples if s["suite"] == "in_domain")
