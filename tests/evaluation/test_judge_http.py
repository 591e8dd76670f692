"""The HTTP judge client against a real server on 127.0.0.1, healthy and misbehaving."""

import pytest

from iftkit.evaluation.counters import Counters
from iftkit.evaluation.judge.client import JudgeClient
from iftkit.models.chat_http import ChatHttpClient
from iftkit.evaluation.judge.prompts import load_judge_prompt
from iftkit.evaluation.scorers import Sample, get_scorer
from iftkit.evaluation.sqlite_store import JsonStore
from evaluation.judge_server import JudgeServer, verdict_for


def _client(server, tmp_path, counters=None, **kw):
    opts = dict(max_concurrency=4, max_retries=5, timeout_s=5.0, backoff_s=0.01)
    opts.update(kw)
    backend = ChatHttpClient(server.url, "judge-model", api_key_env="IFTKIT_TEST_JUDGE_KEY", **opts)
    store = JsonStore(tmp_path / "judge.sqlite", "judge")
    return JudgeClient(backend, store, counters or Counters(), input_cost_per_1m=1.0, output_cost_per_1m=2.0), store


def _prompts(n):
    prompt = load_judge_prompt("reference")
    return [prompt.render(instruction=f"Say {i}", reference=str(i), answer=str(i + (i % 2))) for i in range(n)]


def test_healthy_server_then_rerun_makes_zero_calls(tmp_path):
    prompts = _prompts(6)
    with JudgeServer(delay_s=0.1) as server:
        c1 = Counters()
        client, _ = _client(server, tmp_path, c1, max_concurrency=3)
        got = client.complete_many(prompts)
        assert [g.text for g in got] == [verdict_for(p) for p in prompts]
        assert (c1.judge_new, c1.judge_cached, server.requests) == (6, 0, 6)
        assert 1 < server.max_in_flight <= 3  # concurrency is used and bounded
        assert c1.judge_prompt_tokens > 0 and c1.judge_cost == pytest.approx(
            (c1.judge_prompt_tokens * 1.0 + c1.judge_completion_tokens * 2.0) / 1e6)
        c2 = Counters()
        client2, _ = _client(server, tmp_path, c2)
        again = client2.complete_many(prompts)
        assert [g.text for g in again] == [g.text for g in got]
        assert (c2.judge_new, c2.judge_cached, server.requests) == (0, 6, 6)


def test_flaky_server_429_500_garbage_slow_completes_and_counts(tmp_path):
    prompts = _prompts(4)
    with JudgeServer(faults=["429", "500", "garbage", "slow"], slow_s=1.5) as server:
        counters = Counters()
        client, store = _client(server, tmp_path, counters, timeout_s=0.5)
        got = client.complete_many(prompts)
        assert [g.text for g in got] == [verdict_for(p) for p in prompts]
        assert counters.judge_failed == 0 and counters.judge_retries == 4 * len(prompts)
        assert server.requests == 5 * len(prompts)
        # the cache holds exactly the final good answers
        cached = store.get_many([client.key(p) for p in prompts])
        assert sorted(v["text"] for v in cached.values()) == sorted(verdict_for(p) for p in prompts)


def test_exhausted_retries_are_counted_not_cached_and_retried_next_run(tmp_path):
    prompts = _prompts(3)
    with JudgeServer(faults=["500"] * 3) as server:
        counters = Counters()
        client, store = _client(server, tmp_path, counters, max_retries=2)
        got = client.complete_many(prompts)
        assert all(g.text is None and "HTTP 500" in g.error for g in got)
        assert counters.judge_failed == 3 and len(store) == 0
        # next run: the server now answers on the 4th attempt, so every prompt completes
        counters2 = Counters()
        client2, _ = _client(server, tmp_path, counters2, max_retries=2)
        assert [g.text for g in client2.complete_many(prompts)] == [verdict_for(p) for p in prompts]
        assert counters2.judge_failed == 0 and len(store) == 3


def test_api_key_goes_only_to_the_header(tmp_path, monkeypatch):
    monkeypatch.setenv("IFTKIT_TEST_JUDGE_KEY", "sk-secret-123")
    with JudgeServer() as server:
        client, store = _client(server, tmp_path)
        client.complete_many(_prompts(2))
        assert server.auth_headers == ["Bearer sk-secret-123"] * 2
    store.close()
    assert b"sk-secret-123" not in (tmp_path / "judge.sqlite").read_bytes()
    assert "sk-secret-123" not in str(client.identity) and "sk-secret-123" not in client.label


def test_reference_judge_scores_ratio_and_keeps_unparseable_verbatim(tmp_path):
    samples = [
        Sample(prompt=[{"role": "user", "content": "Capital of France?"}], prediction="Paris", reference="Paris"),
        Sample(prompt=[{"role": "user", "content": "2+2?"}], prediction="four!", reference="4"),
        Sample(prompt=[{"role": "user", "content": "Hi"}], prediction="UNPARSEABLE reply", reference="Hello"),
        Sample(prompt=[{"role": "user", "content": "No reference"}], prediction="x", reference=""),
    ]
    with JudgeServer() as server:
        client, _ = _client(server, tmp_path)
        res = get_scorer("judge", client=client, prompt=load_judge_prompt("reference")).score_detailed(samples)
    assert res.values["judge"] == [10.0, 5.0, None, None]
    assert res.values["judge_reference"][:3] == [10.0, 10.0, 10.0]
    assert res.values["judge_ratio"][:2] == [1.0, 0.5]
    assert res.failed == [False, False, True, False]  # the last one is not applicable, not failed
    assert res.details[2]["raw"] == "I would rather not grade this." and res.details[2]["parse_failed"]
    assert res.details[3] is None


def test_pairwise_judge_asks_both_orders(tmp_path):
    samples = [
        Sample(prompt=[{"role": "user", "content": "Capital of France?"}], prediction="Paris", reference="Paris"),
        Sample(prompt=[{"role": "user", "content": "2+2?"}], prediction="5", reference="4"),
    ]
    with JudgeServer() as server:
        client, _ = _client(server, tmp_path)
        res = get_scorer("judge_pairwise", client=client, prompt=load_judge_prompt("pairwise")).score_detailed(samples)
        assert server.requests == 3  # "Paris" vs "Paris" reads the same in both orders: asked once
    assert res.values["judge_pairwise"] == [0.5, 0.0]
    assert res.details[1]["parsed"] == ["B", "A"]  # reference wins in both positions
