import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from iftkit.cli import main
from iftkit.config.schema import SynthConfig
from iftkit.data.rows import read_rows
from iftkit.data.synth import PAPER_CATEGORIES, NearDupFilter, load_seed_tasks, parse_candidate, synthesize
from iftkit.data.teacher import make_teacher
from iftkit.testing.openai_server import TeacherServer

ROOT = Path(__file__).resolve().parents[2]


def synth_cli(server, out, cache, *extra):
    return [
        "data",
        "synth",
        "--backend",
        "openai",
        "--base-url",
        server.base_url,
        "--model",
        "teacher-1",
        "--out",
        str(out),
        "--cache-dir",
        str(cache),
        "--api-key-env",
        "IFTKIT_TEST_TEACHER_KEY",
        *extra,
    ]


def cache_entries(cache_dir) -> int:
    """Answers in the teacher's cache (read-only: another process may be writing it)."""
    import sqlite3

    path = Path(cache_dir) / "teacher.sqlite"
    if not path.is_file():
        return 0
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return db.execute("SELECT COUNT(*) FROM teacher").fetchone()[0]
    except sqlite3.OperationalError:  # the writer has not created the table yet
        return 0
    finally:
        db.close()


def test_seed_pool_is_ours_large_enough_and_covers_the_paper_categories():
    seeds = load_seed_tasks()
    assert len(seeds) >= 40
    assert {s.category for s in seeds} == set(PAPER_CATEGORIES)
    assert len({s.instruction for s in seeds}) == len(seeds)


def test_teacher_end_to_end_over_http_and_rerun_makes_zero_calls(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("IFTKIT_TEST_TEACHER_KEY", "sk-test-secret")
    out, cache = tmp_path / "synth.jsonl", tmp_path / "cache"
    with TeacherServer() as server:
        assert main(synth_cli(server, out, cache, "--n", "10")) == 0
        first = capsys.readouterr().out
        calls = server.calls
        assert calls >= 10 and "accepted 10 of" in first and f"{calls} new, 0 cached" in first
        assert "rejected: " in first and ("unparseable" in first or "near_duplicate" in first)
        rows = read_rows(out)
        assert len(rows) == 10 and all(r.source == "teacher:teacher-1" and r.task == "teacher" for r in rows)
        assert {r.category for r in rows} <= set(PAPER_CATEGORIES) and len({r.category for r in rows}) >= 5
        assert all(r.completion and r.prompt[0]["role"] == "user" for r in rows)
        first_bytes = out.read_bytes()
        # the API key went in the header only, never to disk
        assert set(server.auth) == {"Bearer sk-test-secret"}
        assert "sk-test-secret" not in first_bytes.decode()
        assert cache_entries(cache) >= calls and b"sk-test-secret" not in (cache / "teacher.sqlite").read_bytes()
        # a rerun replays everything from the cache
        assert main(synth_cli(server, out, cache, "--n", "10")) == 0
        again = capsys.readouterr().out
        assert server.calls == calls and f"0 new, {calls} cached" in again
        assert out.read_bytes() == first_bytes
        # asking for more continues where the pool left off, calling only for the new requests
        assert main(synth_cli(server, out, cache, "--n", "14")) == 0
        assert server.calls > calls and len(read_rows(out)) == 14
        assert [r.to_json() for r in read_rows(out)[:10]] == [r.to_json() for r in rows]


def test_near_duplicates_of_the_pool_are_filtered(tmp_path):
    f = NearDupFilter(0.7)
    f.add("Write a haiku about autumn leaves.")
    assert f.max_similarity("Write a haiku about the autumn leaves.") >= 0.7
    assert f.max_similarity("Translate the sentence into Spanish.") < 0.7
    seeds = load_seed_tasks()

    class Echo:  # a teacher that only repeats a seed task
        new_calls = cached_calls = failed_calls = 0
        model_name = "echo"

        def complete_many(self, reqs):
            return [json.dumps({"instruction": seeds[0].instruction, "input": "", "output": "x"})] * len(reqs)

    rep = synthesize(SynthConfig(n=3, max_calls=6, max_concurrency=2), Echo(), tmp_path / "echo.jsonl")
    assert rep.accepted == 0 and rep.rejected == {"near_duplicate": 6}


def test_parse_candidate_checks_format():
    ok, why = parse_candidate(
        'Sure:\n```json\n{"instruction": "Name two rivers in Spain.", "input": "", "output": "Ebro, Tagus"}\n```'
    )
    assert ok and ok.output == "Ebro, Tagus" and why == ""
    ok, _ = parse_candidate("Instruction: Give a synonym for happy.\nInput:\nOutput: glad")
    assert ok and ok.instruction == "Give a synonym for happy." and ok.output == "glad"
    assert parse_candidate("no structure here")[1] == "unparseable"
    assert parse_candidate('{"instruction": "Hi", "output": "x"}')[1] == "bad_instruction"
    assert parse_candidate('{"instruction": "Describe this picture in detail.", "output": "x"}')[1] == "non_text"
    assert parse_candidate('{"instruction": "Tell me a joke please.", "output": "As an AI, I cannot."}')[1] == "refusal"
    assert parse_candidate('{"instruction": ["a"], "output": "x"}')[1] == "bad_fields"
    assert parse_candidate(None)[1] == "call_failed"


def test_server_errors_are_retried(tmp_path):
    with TeacherServer(fail_first=2) as server:
        teacher = make_teacher(
            SynthConfig(
                model="m", base_url=server.base_url, max_retries=3, max_concurrency=1, cache_dir=str(tmp_path / "c")
            )
        )
        rep = synthesize(SynthConfig(n=2, max_concurrency=1), teacher, tmp_path / "o.jsonl")
        assert rep.accepted == 2 and rep.failed_calls == 0 and server._attempts == server.calls + 2
    with TeacherServer(fail_first=100) as server:
        teacher = make_teacher(
            SynthConfig(
                model="m", base_url=server.base_url, max_retries=1, max_concurrency=1, cache_dir=str(tmp_path / "c2")
            )
        )
        rep = synthesize(SynthConfig(n=1, max_calls=2, max_concurrency=1), teacher, tmp_path / "o2.jsonl")
        assert rep.accepted == 0 and rep.failed_calls == 2 and rep.rejected == {"call_failed": 2}
        assert cache_entries(tmp_path / "c2") == 0, "failures are never cached"


def test_interrupted_run_resumes_without_repeating_finished_calls(tmp_path):
    out, cache = tmp_path / "s.jsonl", tmp_path / "cache"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with TeacherServer(delay_s=0.3) as server:
        cmd = [
            sys.executable,
            "-m",
            "iftkit",
            *synth_cli(server, out, cache, "--n", "16", "--data.synth.max_concurrency", "2"),
        ]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while cache_entries(cache) < 5 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        # let the server finish answering what the killed client had in flight
        while server.in_flight and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not out.exists(), "killed before the end: no output yet"
        cached_at_kill = cache_entries(cache)
        served_before = server.calls
        assert cached_at_kill >= 5
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        last = done.stdout.strip().splitlines()[-1]
        new = server.calls - served_before
        assert f"{new} new, {cached_at_kill} cached" in last, last
        assert len(read_rows(out)) == 16


def test_local_transformers_teacher_runs_and_caches(tmp_path, tiny_model_dir):
    from iftkit.config.schema import ModelConfig
    from iftkit.data.teacher import make_teacher

    cfg = SynthConfig(
        backend="local",
        model=str(tiny_model_dir),
        n=2,
        max_calls=3,
        max_tokens=12,
        max_concurrency=1,
        cache_dir=str(tmp_path / "c"),
    )
    teacher = make_teacher(cfg, ModelConfig())
    rep = synthesize(cfg, teacher, tmp_path / "o.jsonl")
    assert rep.requests == 3 and rep.new_calls == 3 and sum(rep.rejected.values()) + rep.accepted == 3
    assert teacher.backend.loads == 1
    again = make_teacher(cfg, ModelConfig())
    rep2 = synthesize(cfg, again, tmp_path / "o.jsonl")
    assert rep2.new_calls == 0 and rep2.cached_calls == 3


def test_missing_base_url_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    assert main(["data", "synth", "--backend", "openai", "--model", "m", "--out", str(tmp_path / "o.jsonl")]) == 2
    assert "data.synth.base_url is not set" in capsys.readouterr().err


@pytest.fixture(autouse=True)
def _cache(isolated_cache):
    return isolated_cache


def test_target_format_synthesis_from_user_examples(tmp_path, capsys):
    seeds = tmp_path / "examples.jsonl"
    seeds.write_text(
        "".join(
            json.dumps(
                {
                    "instruction": "Route this ticket: billing, technical or shipping.",
                    "input": f"Ticket {i}: my order {i} is late.",
                    "output": "shipping",
                }
            )
            + "\n"
            for i in range(4)
        )
    )
    with TeacherServer(bad_every=0) as server:
        assert (
            main(
                synth_cli(
                    server,
                    tmp_path / "fmt.jsonl",
                    tmp_path / "c",
                    "--n",
                    "3",
                    "--task",
                    "ticket_routing",
                    "--seeds",
                    str(seeds),
                )
            )
            == 0
        )
        body = json.loads(server.bodies[0])
    assert "Route this ticket" in body["messages"][1]["content"]
    assert (
        'category "user"' in body["messages"][1]["content"] and "same output format" in body["messages"][1]["content"]
    )
    rows = read_rows(tmp_path / "fmt.jsonl")
    assert len(rows) == 3 and {r.task for r in rows} == {"ticket_routing"}
