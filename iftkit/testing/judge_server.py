"""A real OpenAI-compatible HTTP server on 127.0.0.1 for judge tests.

Its verdict is a pure function of the prompt (so results are checkable); `faults` makes it
misbehave on the first attempts at each prompt: 429 (with Retry-After), 500, a 200 whose body
is not JSON, or a reply slower than the client's timeout. With `logprobs=True` it answers a
request that asks for logprobs the way vLLM does: per token, with `top_logprobs` alternatives;
at the verdict token the alternatives are `alternatives(verdict)` (checkable weights).
`split_digits=True` tokenizes like Qwen or Mistral, one token per digit ("10" = "1", "0"): the
first digit's alternatives are `alternatives`' first digits, the next digit's P("0" | "1") = P(10) / P(1 or 10).
`verdict_mass` scales the probability the verdict token puts on verdicts (the rest: " N/A").
`truth(verdict, mass)` replaces `alternatives` as the judge's distribution over verdicts; with split
digits the token alternatives follow from it ("1" then "0" for 10), and a request that continues an
unfinished reply "Score: 1" (continue_final_message) gets P(next token | "1") from it too, unless
`continues=False` (a server that ignores the flag and answers the conversation afresh).
"""

import hashlib
import json
import math
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Optional

from iftkit.testing.in_flight import counted

NOT_A_VERDICT = " N/A"  # an alternative at the verdict token that is no allowed verdict


def alternatives(verdict: str, mass: float = 0.9) -> dict:
    """Probabilities the server gives at the verdict token: 2/3 of `mass` on its verdict, 1/3 on a
    neighbour, the rest on something that is not a verdict (ignored by the judge, then renormalised)."""
    if verdict in ("A", "B", "tie"):
        other = "B" if verdict == "A" else "A"
    else:
        other = str(int(verdict) - 2 if int(verdict) >= 2 else int(verdict) + 2)
    return {f" {verdict}": mass * 2 / 3, f" {other}": mass / 3, NOT_A_VERDICT: 1 - mass}


def _first_digits(truth: dict) -> dict:
    """Split digits: the verdict token's alternatives are the verdicts' first digits ("10" adds to " 1")."""
    out: dict = {}
    for k, p in truth.items():
        key = k if k == NOT_A_VERDICT or not k.strip().isdigit() else f" {k.strip()[0]}"
        out[key] = out.get(key, 0.0) + p
    return out


def next_digit(truth: dict, stem: str, end: str = "\n") -> dict:
    """Split digits: P(next token | the verdict so far reads `stem`), consistent with `truth`: "0" with
    P(stem + "0") / P(stem...), `end` with P(stem) / P(stem...)."""
    truth = {k.strip(): p for k, p in truth.items()}
    longer = {k[len(stem):][0]: p for k, p in truth.items() if k.startswith(stem) and len(k) > len(stem)}
    total = truth.get(stem, 0.0) + sum(longer.values())
    if total <= 0:
        return {end: 1.0}
    return {t: p / total for t, p in {**longer, end: truth.get(stem, 0.0)}.items() if p > 0}


def _entry(tok: str, alts: dict) -> dict:
    return {"token": tok, "logprob": math.log(alts.get(tok, 0.9)),
            "top_logprobs": [{"token": t, "logprob": math.log(p)} for t, p in alts.items()]}


def _logprobs_content(text: str, split_digits: bool = False, mass: float = 0.9, truth=None) -> list:
    pattern = r"\s*[^\W\d]+|\s?\d|\s*[^\w\s]|\s+" if split_digits else r"\s*\w+|\s*[^\w\s]|\s+"
    tokens = re.findall(pattern, text)
    assert "".join(tokens) == text
    verdict = re.search(r"(?:Score|Winner): (\w+)", text)
    dist = (truth or alternatives)(verdict.group(1), mass) if verdict else None
    out = []
    for i, tok in enumerate(tokens):
        alts = {tok: 0.9}
        if verdict and i > 0 and tokens[i - 1] == ":":
            if split_digits and verdict.group(1).isdigit() and tok.strip() == verdict.group(1)[0]:
                alts = _first_digits(dist)
            elif tok.strip() == verdict.group(1):
                alts = dist
        elif (split_digits and verdict and i > 1 and tokens[i - 2] == ":" and verdict.group(1).isdigit()
              and tokens[i - 1].strip() == "1"):  # after the "1" that may start "10"
            alts = next_digit(dist, "1", "\n" if tok == "0" else tok)
        out.append(_entry(tok, alts))
    return out


def continuation(messages, truth=None, mass: float = 0.9) -> tuple[str, list]:
    """The server continuing an unfinished assistant reply "... Score: 1" by one token (vLLM's
    continue_final_message): (text, logprobs content), consistent with the verdict it would give."""
    partial = messages[-1]["content"]
    verdict = re.search(r"(?:Score|Winner): (\w+)", verdict_for(messages[:-1]))
    stem = re.search(r"(\d+)$", partial)
    if not verdict or not stem:
        return "\n", [_entry("\n", {"\n": 1.0})]
    alts = next_digit((truth or alternatives)(verdict.group(1), mass), stem.group(1))
    tok = max(alts, key=alts.get)
    return tok, [_entry(tok, alts)]


def verdict_for(messages) -> str:
    text = messages[-1]["content"]
    if "ANSWER A:" in text:
        a = text.split("ANSWER A:")[1].split("ANSWER B:")[0].strip()
        b = text.split("ANSWER B:")[1].split("Reply with")[0].strip()
        ref = text.split("REFERENCE:")[1].split("ANSWER A:")[0].strip()
        return "Winner: A" if a == ref and b != ref else "Winner: B" if b == ref and a != ref else "Winner: tie"
    answer = text.split("ANSWER:")[1].split("Reply with")[0].strip()
    ref = text.split("REFERENCE:")[1].split("ANSWER:")[0].strip()
    if "UNPARSEABLE" in answer:
        return "I would rather not grade this."
    return "Score: 10\nMatches the reference." if answer == ref else f"Score: {min(9, len(answer) % 10)}\nDiffers."


@dataclass
class LogprobStyle:
    """How the server's logprobs look (see the module's docstring); `logprobs=True` is the default style."""

    split_digits: bool = False
    verdict_mass: float = 0.9
    truth: Optional[Callable] = None
    continues: bool = True


class _Handler(BaseHTTPRequestHandler):
    """One request to the JudgeServer this HTTP server belongs to (`self.server.judge`)."""

    def log_message(self, *a):
        pass

    def do_POST(self):
        judge = self.server.judge
        with counted(judge, judge.lock):
            self._handle(judge)

    def _handle(self, judge):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        fault = judge.record(body, self.headers.get("Authorization"))
        if judge.delay_s:
            time.sleep(judge.delay_s)
        if fault == "429":
            return self._send(429, b'{"error": "rate limited"}', {"Retry-After": "0"})
        if fault == "500":
            return self._send(500, b"internal error")
        if fault == "garbage":
            return self._send(200, b"<html>not json</html>")
        if fault == "slow":
            time.sleep(judge.slow_s)
        self._send(200, json.dumps(judge.reply(body)).encode())

    def _send(self, code, data, headers=None):
        try:
            self.send_response(code)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test)


class JudgeServer:
    def __init__(self, faults=(), slow_s: float = 0.0, delay_s: float = 0.0, logprobs=False, port: int = 0):
        """logprobs: False (none), True (the default LogprobStyle) or a LogprobStyle."""
        self.faults = list(faults)  # failure kinds served, in order, on the first attempts at each prompt
        self.slow_s = slow_s
        self.delay_s = delay_s  # every request takes this long (to observe concurrency)
        self.logprobs = bool(logprobs)
        self.style = logprobs if isinstance(logprobs, LogprobStyle) else LogprobStyle()
        self.bodies: list[dict] = []
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.auth_headers = []
        self.attempts: dict[str, int] = {}
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self.httpd.judge = self
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def record(self, body: dict, auth) -> Optional[str]:
        """Count the request; the fault to serve for this attempt at its prompt (None: answer it)."""
        key = hashlib.sha256(json.dumps(body["messages"]).encode()).hexdigest()
        with self.lock:
            self.requests += 1
            self.bodies.append(body)
            self.auth_headers.append(auth)
            n = self.attempts.get(key, 0)
            self.attempts[key] = n + 1
        return self.faults[n] if n < len(self.faults) else None

    def reply(self, body: dict) -> dict:
        """The chat completion answering `body`: its verdict, and logprobs when asked and served."""
        messages, style = body["messages"], self.style
        resume = body.get("continue_final_message") and messages[-1]["role"] == "assistant"
        if resume and style.continues:
            text, content = continuation(messages, style.truth, style.verdict_mass)
        else:
            text = verdict_for(messages[:-1] if messages[-1]["role"] == "assistant" else messages)
            content = _logprobs_content(text, style.split_digits, style.verdict_mass, style.truth)
        words = sum(len(re.findall(r"\S+", m["content"])) for m in messages)
        choice = {"message": {"role": "assistant", "content": text}}
        if self.logprobs and body.get("logprobs"):
            choice["logprobs"] = {"content": content}
        return {"choices": [choice], "usage": {"prompt_tokens": words, "completion_tokens": len(text.split())}}

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
