"""The HTTP judge client against a real server on 127.0.0.1, healthy and misbehaving."""

import pytest

from iftkit.core.store import JsonStore
from iftkit.evaluation.counters import Counters
from iftkit.evaluation.judge.client import JudgeClient
from iftkit.evaluation.judge.prompts import load_judge_prompt
from iftkit.evaluation.scorers import SampleRecord, get_scorer
from iftkit.models.chat.backend import Server
from iftkit.models.chat.cache import CachedChat
from iftkit.models.chat.http import OpenAIChat
from iftkit.models.chat.types import GenConfig
from iftkit.testing.judge_server import JudgeServer, LogprobStyle, verdict_for

GEN = GenConfig(max_new_tokens=48)


def _client(server, tmp_path, counters=None, verdict="text", **kw):
    """A cached HTTP chat (what the judge calls) and the judge client over it."""
    opts = dict(max_concurrency=4, max_retries=5, timeout_s=5.0, backoff_s=0.01)
    opts.update(kw)
    counters = counters or Counters()
    backend = OpenAIChat(Server(server.url, "judge-model", api_key_env="IFTKIT_TEST_JUDGE_KEY", **opts))
    store = JsonStore(tmp_path / "judge.sqlite", "judge")
    chat = CachedChat(backend, store, counters.judge, input_cost_per_1m=1.0, output_cost_per_1m=2.0)
    return JudgeClient(chat, GEN, verdict, tally=counters.verdicts), store


def _prompts(n):
    prompt = load_judge_prompt("reference")
    return [prompt.render(instruction=f"Say {i}", reference=str(i), answer=str(i + (i % 2))) for i in range(n)]


def test_healthy_server_then_rerun_makes_zero_calls(tmp_path):
    prompts = _prompts(6)
    with JudgeServer(delay_s=0.1) as server:
        c1 = Counters()
        client, _ = _client(server, tmp_path, c1, max_concurrency=3)
        got = client.chat.complete_many(prompts, GEN)
        assert [g.text for g in got] == [verdict_for(p) for p in prompts]
        assert (c1.judge.new, c1.judge.cached, server.requests) == (6, 0, 6)
        assert 1 < server.max_in_flight <= 3  # concurrency is used and bounded
        assert c1.judge.prompt_tokens > 0 and c1.judge.cost == pytest.approx(
            (c1.judge.prompt_tokens * 1.0 + c1.judge.completion_tokens * 2.0) / 1e6
        )
        c2 = Counters()
        client2, _ = _client(server, tmp_path, c2)
        again = client2.chat.complete_many(prompts, GEN)
        assert [g.text for g in again] == [g.text for g in got]
        assert (c2.judge.new, c2.judge.cached, server.requests) == (0, 6, 6)


def test_flaky_server_429_500_garbage_slow_completes_and_counts(tmp_path):
    prompts = _prompts(4)
    with JudgeServer(faults=["429", "500", "garbage", "slow"], slow_s=1.5) as server:
        counters = Counters()
        client, store = _client(server, tmp_path, counters, timeout_s=0.5)
        got = client.chat.complete_many(prompts, GEN)
        assert [g.text for g in got] == [verdict_for(p) for p in prompts]
        assert counters.judge.failed == 0 and counters.judge.retries == 4 * len(prompts)
        assert server.requests == 5 * len(prompts)
        # the cache holds exactly the final good answers
        cached = store.get_many([client.chat.key("complete", GEN.identity(), p) for p in prompts])
        assert sorted(v["text"] for v in cached.values()) == sorted(verdict_for(p) for p in prompts)


def test_exhausted_retries_are_counted_not_cached_and_retried_next_run(tmp_path):
    prompts = _prompts(3)
    with JudgeServer(faults=["500"] * 3) as server:
        counters = Counters()
        client, store = _client(server, tmp_path, counters, max_retries=2)
        got = client.chat.complete_many(prompts, GEN)
        assert all(g.text is None and "HTTP 500" in g.error for g in got)
        assert counters.judge.failed == 3 and len(store) == 0
        # next run: the server now answers on the 4th attempt, so every prompt completes
        counters2 = Counters()
        client2, _ = _client(server, tmp_path, counters2, max_retries=2)
        assert [g.text for g in client2.chat.complete_many(prompts, GEN)] == [verdict_for(p) for p in prompts]
        assert counters2.judge.failed == 0 and len(store) == 3


def test_api_key_goes_only_to_the_header(tmp_path, monkeypatch):
    monkeypatch.setenv("IFTKIT_TEST_JUDGE_KEY", "sk-secret-123")
    with JudgeServer() as server:
        client, store = _client(server, tmp_path)
        client.chat.complete_many(_prompts(2), GEN)
        assert server.auth_headers == ["Bearer sk-secret-123"] * 2
    store.close()
    assert b"sk-secret-123" not in (tmp_path / "judge.sqlite").read_bytes()
    assert "sk-secret-123" not in str(client.identity) and "sk-secret-123" not in client.label


SAMPLES = [
    SampleRecord(prompt=[{"role": "user", "content": "Capital of France?"}], prediction="Paris", reference="Paris"),
    SampleRecord(prompt=[{"role": "user", "content": "2+2?"}], prediction="four!", reference="4"),
    SampleRecord(prompt=[{"role": "user", "content": "Hi"}], prediction="UNPARSEABLE reply", reference="Hello"),
    SampleRecord(prompt=[{"role": "user", "content": "No reference"}], prediction="x", reference=""),
    SampleRecord(prompt=[{"role": "user", "content": "Name a colour"}], prediction="blue", reference="UNPARSEABLE red"),
]


def test_reference_judge_scores_ratio_and_counts_every_failed_verdict(tmp_path):
    with JudgeServer() as server:
        client, _ = _client(server, tmp_path)
        res = get_scorer("judge", client=client, prompt=load_judge_prompt("reference")).score_detailed(SAMPLES)
    assert res.values["judge"] == [10.0, 5.0, None, None, 4.0]
    assert res.values["judge_reference"] == [10.0, 10.0, 10.0, None, None]
    assert res.values["judge_ratio"] == [1.0, 0.5, None, None, None]
    # failures name the outputs they cost: the last one is not applicable, not failed; an
    # unparseable *reference* verdict fails judge_reference and the ratio
    assert res.failed == [(), (), ("judge", "judge_ratio"), (), ("judge_reference", "judge_ratio")]
    cand = res.details[2]["verdicts"]["candidate"]
    assert cand["raw"] == "I would rather not grade this." and cand["status"] == "unparseable"
    assert res.details[4]["status"] == {"scored": 1, "unparseable": 1, "failed": 0}
    assert res.details[3] is None
    assert client.tally.scored == 6 and client.tally.unparseable == 2 and client.tally.by_probs == 0


def test_logprobs_give_the_probability_weighted_score(tmp_path):
    """A server that returns token logprobs (as vLLM and llama.cpp do): the verdict is weighted
    over the alternatives at the verdict token, ignoring alternatives that are no verdict."""
    with JudgeServer(logprobs=True) as server:
        client, _ = _client(server, tmp_path, verdict="auto")
        res = get_scorer("judge", client=client, prompt=load_judge_prompt("reference")).score_detailed(SAMPLES[:2])
        assert all(b["logprobs"] is True and b["top_logprobs"] == 20 for b in server.bodies)
        pair = get_scorer("judge_pairwise", client=client, prompt=load_judge_prompt("pairwise")).score_detailed(
            SAMPLES[1:2]
        )
    # "Score: 10" with 0.6 on 10, 0.3 on 8 (0.1 on " N/A" dropped): (0.6*10 + 0.3*8) / 0.9
    assert res.values["judge"][0] == pytest.approx((6 + 2.4) / 0.9)
    assert res.values["judge"][1] == pytest.approx((0.6 * 5 + 0.3 * 3) / 0.9)  # "four!" scores 5
    verdict = res.details[0]["verdicts"]["candidate"]
    assert verdict["method"] == "logprobs" and verdict["parsed"] == "10"
    assert verdict["probs"] == pytest.approx({"10": 2 / 3, "8": 1 / 3})
    # pairwise, "5"... here "four!" vs "4": the server says B (the reference) wins in the first
    # order and A in the second, each with 0.6 vs 0.3 -> candidate wins with p = 1/3 in each order
    assert pair.values["judge_pairwise"][0] == pytest.approx(1 / 3)
    assert client.tally.by_probs == client.tally.scored == 6


def test_server_without_logprobs_falls_back_to_parsing_the_text(tmp_path):
    with JudgeServer(logprobs=False) as server:
        client, _ = _client(server, tmp_path, verdict="auto")
        res = get_scorer("judge", client=client, prompt=load_judge_prompt("reference")).score_detailed(SAMPLES[:2])
        assert all(b["logprobs"] is True for b in server.bodies)  # asked, not given
    assert res.values["judge"] == [10.0, 5.0]
    assert res.details[0]["verdicts"]["candidate"]["method"] == "text"
    assert client.tally.scored == 4 and client.tally.by_probs == 0
    # verdict: probs insists on probabilities: a text-only server gives unparseable verdicts, said why
    with JudgeServer(logprobs=False) as server:
        strict, _ = _client(server, tmp_path / "strict", verdict="probs")
        res = get_scorer("judge", client=strict, prompt=load_judge_prompt("reference")).score_detailed(SAMPLES[:1])
    assert res.values["judge"] == [None] and "no usable logprobs" in res.details[0]["error"]


def test_pairwise_judge_asks_both_orders(tmp_path):
    samples = [
        SampleRecord(prompt=[{"role": "user", "content": "Capital of France?"}], prediction="Paris", reference="Paris"),
        SampleRecord(prompt=[{"role": "user", "content": "2+2?"}], prediction="5", reference="4"),
    ]
    with JudgeServer() as server:
        client, _ = _client(server, tmp_path)
        res = get_scorer("judge_pairwise", client=client, prompt=load_judge_prompt("pairwise")).score_detailed(samples)
        assert server.requests == 3  # "Paris" vs "Paris" reads the same in both orders: asked once
    assert res.values["judge_pairwise"] == [0.5, 0.0]
    got = res.details[1]["verdicts"]
    assert [got["candidate_first"]["parsed"], got["reference_first"]["parsed"]] == ["B", "A"]  # reference wins twice


def test_a_tokenizer_that_splits_10_into_two_tokens_is_decoded_not_misread(tmp_path):
    """Qwen and Mistral write "10" as "1", "0": the verdict is P("1") x P("0" | "1"), not the
    first token's alternatives (which read "Score: 10" as about 3)."""
    samples = SAMPLES[:2]
    with JudgeServer(logprobs=LogprobStyle(split_digits=True)) as server:
        client, _ = _client(server, tmp_path, verdict="auto")
        res = get_scorer("judge", client=client, prompt=load_judge_prompt("reference")).score_detailed(samples)
    # "10": 0.6 on 10 (" 1" then "0"), 0.3 on 8; mass 0.9
    assert res.values["judge"][0] == pytest.approx((0.6 * 10 + 0.3 * 8) / 0.9)
    verdict = res.details[0]["verdicts"]["candidate"]
    assert verdict["probs"] == pytest.approx({"10": 2 / 3, "8": 1 / 3}, abs=1e-5)
    assert verdict["status"] == "scored" and verdict["mass"] == pytest.approx(0.9)
    assert res.values["judge"][1] == pytest.approx((0.6 * 5 + 0.3 * 3) / 0.9)  # one-digit verdicts as before


# the judge's own distribution over verdicts, per verdict it writes; " N/A" is no verdict
SPLIT_TRUTH = {
    "9": {" 9": 0.55, " 10": 0.35, " N/A": 0.10},  # off the reply's path, " 1" is really 10
    "3": {" 3": 0.60, " 1": 0.30, " N/A": 0.10},  # off the reply's path, " 1" is really 1
    "10": {" 10": 0.60, " 1": 0.20, " 8": 0.10, " N/A": 0.10},  # on the path: "1" then "0"
    "1": {" 1": 0.50, " 10": 0.20, " 2": 0.20, " N/A": 0.10},  # on the path: "1" then the end
}
SPLIT_SAMPLES = [  # the server scores a match 10, else len(answer) % 10
    SampleRecord(prompt=[{"role": "user", "content": "Say 9"}], prediction="nine word", reference="9"),
    SampleRecord(prompt=[{"role": "user", "content": "Say abc"}], prediction="abc", reference="xyz"),
    SampleRecord(prompt=[{"role": "user", "content": "Say Paris"}], prediction="Paris", reference="Paris"),
    SampleRecord(prompt=[{"role": "user", "content": "Say y"}], prediction="x", reference="y"),
]


def test_digit_splitting_server_loses_no_verdict_one_extra_request_resolves_the_open_1(tmp_path):
    """A "9" whose alternatives put 0.35 on " 1" (1, or the start of 10?) was unparseable, so lost verdicts
    clustered at the top of the scale. One more request, the reply continued after "Score: 1", decides."""
    with JudgeServer(logprobs=LogprobStyle(split_digits=True, truth=lambda v, _mass: SPLIT_TRUTH[v])) as server:
        counters = Counters()
        client, _ = _client(server, tmp_path, counters, verdict="auto")
        judge = get_scorer("judge", client=client, prompt=load_judge_prompt("reference"))
        res = judge.score_detailed(SPLIT_SAMPLES)
        resumed = [b for b in server.bodies if b.get("continue_final_message")]
        # 7 distinct prompts (the "Paris" answer is its own reference: asked once); the references score 10 on
        # the reply's path, so only the "9" and the "3" needed the extra request
        assert server.requests == 7 + 2 and len(resumed) == 2
        assert all(b["messages"][-1] == {"role": "assistant", "content": "Score: 1"} and b["max_tokens"] == 1
                   and b["add_generation_prompt"] is False for b in resumed)
        again = Counters()
        rerun, _ = _client(server, tmp_path, again, verdict="auto")
        assert get_scorer("judge", client=rerun, prompt=load_judge_prompt("reference")).score_detailed(
            SPLIT_SAMPLES).values == res.values
        assert server.requests == 9 and again.judge.new == 0  # the continuations are cached too
    got = [res.details[i]["verdicts"]["candidate"] for i in range(4)]
    assert [g["status"] for g in got] == ["scored"] * 4 and counters.verdicts.unparseable == 0
    for g, verdict in zip(got, ["9", "3", "10", "1"]):
        want = {k.strip(): p / 0.9 for k, p in SPLIT_TRUTH[verdict].items() if k != " N/A"}
        assert g["probs"] == pytest.approx(want, abs=1e-5) and g["mass"] == pytest.approx(0.9)
    assert got[0]["probs"]["10"] == pytest.approx(0.35 / 0.9) and got[1]["probs"]["1"] == pytest.approx(0.3 / 0.9)
    assert [g["parsed"] for g in got] == ["9", "3", "10", "1"]


def test_a_server_that_cannot_continue_a_reply_leaves_the_open_1_unparseable_and_says_why(tmp_path):
    with JudgeServer(logprobs=LogprobStyle(split_digits=True, truth=lambda v, _mass: SPLIT_TRUTH[v],
                                          continues=False)) as server:
        client, _ = _client(server, tmp_path, verdict="auto")
        res = get_scorer("judge", client=client, prompt=load_judge_prompt("reference")).score_detailed(
            SPLIT_SAMPLES[:2])
    assert res.values["judge"] == [None, None]
    bad = res.details[0]["verdicts"]["candidate"]
    assert bad["status"] == "unparseable" and "continue_final_message" in bad["error"]


def test_too_little_probability_on_allowed_verdicts_is_unparseable_and_reported(tmp_path):
    with JudgeServer(logprobs=LogprobStyle(verdict_mass=0.3)) as server:
        counters = Counters()
        client, _ = _client(server, tmp_path, counters, verdict="auto")
        res = get_scorer("judge", client=client, prompt=load_judge_prompt("reference")).score_detailed(SAMPLES[:2])
    assert res.values["judge"] == [None, None]
    verdict = res.details[0]["verdicts"]["candidate"]
    assert verdict["status"] == "unparseable" and verdict["mass"] == pytest.approx(0.3)
    assert "only 0.30 of the judge's probability" in verdict["error"]
    line = counters.verdicts.line()
    assert "0 scored, 4 unparseable (4 with too little probability on allowed verdicts)" in line
    assert "mean probability on allowed verdicts 0.30" in line
    assert "WARNING: the judge scored 0 of 4 verdicts" in line


def test_a_judge_that_never_follows_the_format_warns(tmp_path):
    samples = [SampleRecord(prompt=[{"role": "user", "content": f"Q{i}"}], prediction=f"UNPARSEABLE {i}",
                      reference="UNPARSEABLE ref") for i in range(3)]
    with JudgeServer() as server:
        counters = Counters()
        client, _ = _client(server, tmp_path, counters)
        res = get_scorer("judge", client=client, prompt=load_judge_prompt("reference")).score_detailed(samples)
    assert res.values["judge"] == [None] * 3
    assert "WARNING: the judge scored 0 of 6 verdicts" in counters.verdicts.line()
