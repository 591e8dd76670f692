"""A real OpenAI-compatible HTTP server on 127.0.0.1 for judge tests.

Its verdict is a pure function of the prompt (so results are checkable); `faults` makes it
misbehave on the first attempts at each prompt: 429 (with Retry-After), 500, a 200 whose body
is not JSON, or a reply slower than the client's timeout.
"""

import hashlib
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


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


class JudgeServer:
    def __init__(self, faults=(), slow_s: float = 0.0, delay_s: float = 0.0):
        self.faults = list(faults)  # failure kinds served, in order, on the first attempts at each prompt
        self.slow_s = slow_s
        self.delay_s = delay_s  # every request takes this long (to observe concurrency)
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.auth_headers = []
        self.attempts: dict[str, int] = {}
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                with server.lock:
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    self._handle()
                finally:
                    with server.lock:
                        server.in_flight -= 1

            def _handle(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                key = hashlib.sha256(json.dumps(body["messages"]).encode()).hexdigest()
                with server.lock:
                    server.requests += 1
                    server.auth_headers.append(self.headers.get("Authorization"))
                    n = server.attempts.get(key, 0)
                    server.attempts[key] = n + 1
                fault = server.faults[n] if n < len(server.faults) else None
                if server.delay_s:
                    time.sleep(server.delay_s)
                if fault == "429":
                    return self._send(429, b'{"error": "rate limited"}', {"Retry-After": "0"})
                if fault == "500":
                    return self._send(500, b"internal error")
                if fault == "garbage":
                    return self._send(200, b"<html>not json</html>")
                if fault == "slow":
                    time.sleep(server.slow_s)
                text = verdict_for(body["messages"])
                words = sum(len(re.findall(r"\S+", m["content"])) for m in body["messages"])
                out = {"choices": [{"message": {"role": "assistant", "content": text}}],
                       "usage": {"prompt_tokens": words, "completion_tokens": len(text.split())}}
                self._send(200, json.dumps(out).encode())

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

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
