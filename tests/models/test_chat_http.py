"""The OpenAI-compatible chat backend's circuit breaker, against real sockets on 127.0.0.1."""

import socket

from iftkit.models.chat.backend import Server
from iftkit.models.chat.http import OpenAIChat
from iftkit.models.chat.types import GenConfig
from iftkit.testing.judge_server import JudgeServer

MESSAGES = [[{"role": "user", "content": f"ANSWER:\n{i}\nREFERENCE:\n{i}\nReply with"}] for i in range(12)]


def refused_port() -> int:
    """A port on 127.0.0.1 where nothing listens: connecting is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_breaker_stops_after_k_consecutive_connection_failures():
    chat = OpenAIChat(Server(f"http://127.0.0.1:{refused_port()}/v1", "m", max_concurrency=1, max_retries=10,
                             backoff_s=0.001, max_consecutive_failures=4))
    got = chat.complete_many(MESSAGES, GenConfig(8))
    assert chat.breaker.open and chat.breaker.consecutive == 4  # 4 attempts in all, then nothing is sent
    assert "4 consecutive connection failures" in chat.breaker.reason and "connection error" in chat.breaker.reason
    assert all(c.text is None and "circuit breaker open" in c.error for c in got)
    assert got[0].retries == 3 and not got[0].not_sent  # the first request made the 4 attempts
    assert all(c.not_sent for c in got[1:])


def test_answers_reset_the_count_so_scattered_failures_do_not_trip_it():
    with JudgeServer(faults=["500", "slow"], slow_s=0.6) as server:  # each prompt: HTTP 500, a timeout, then an answer
        chat = OpenAIChat(Server(server.url, "m", max_concurrency=1, max_retries=3, timeout_s=0.3, backoff_s=0.001,
                                 max_consecutive_failures=2))
        got = chat.complete_many(MESSAGES[:4], GenConfig(8))
    assert all(c.text for c in got) and not chat.breaker.open
