"""A real HTTP server on 127.0.0.1 speaking the OpenAI chat completions API, for teacher tests.

Its "model" writes a new task whose words are drawn from a seeded RNG keyed by the request
body, so answers are deterministic per request and diverse across requests. Some requests get
deliberately bad answers (prose, near-duplicates of a seed) to exercise the filters; it can
also fail the first N calls with HTTP 500 or answer slowly.
"""

import hashlib
import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from iftkit.testing.in_flight import counted

VOCAB = (
    "amber basket candle desert engine falcon garden harbor island jungle kettle lantern meadow "
    "needle orchard pepper quarry river saddle timber umbrella valley wagon yarn zephyr anchor "
    "bridge canyon dolphin ember feather glacier hammer igloo jacket kernel ladder marble napkin "
    "oyster pillow quiver ribbon shovel tunnel velvet walnut pebble thunder copper silver meadow "
    "whistle blanket cactus domino elbow fossil goblet helmet insect jigsaw kayak lemon mirror "
    "noodle opal parrot quill rocket spider tractor unicorn violin window yogurt zipper"
).split()


class _Handler(BaseHTTPRequestHandler):
    """One request to the TeacherServer this HTTP server belongs to (`self.server.teacher`)."""

    def log_message(self, *args):
        pass

    def do_POST(self):
        if self.path != "/v1/chat/completions":
            self._send(404, {"error": "not found"})
            return
        teacher = self.server.teacher
        with counted(teacher, teacher._lock):
            self._answer(teacher)

    def _answer(self, teacher):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        with teacher._lock:
            teacher._attempts += 1
            attempt = teacher._attempts
            teacher.auth.append(self.headers.get("Authorization"))
        if attempt <= teacher.fail_first:
            self._send(500, {"error": "try again"})
            return
        if teacher.delay_s:
            time.sleep(teacher.delay_s)
        req = json.loads(body)
        content = teacher.answer(req, body)
        with teacher._lock:
            teacher.calls += 1
            teacher.bodies.append(body)
        choice = {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}
        self._send(200, {"id": "x", "object": "chat.completion", "model": req["model"], "choices": [choice],
                         "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}})

    def _send(self, code, obj):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a client killed mid-request (the resume test) is expected


class TeacherServer:
    def __init__(self, fail_first: int = 0, delay_s: float = 0.0, bad_every: int = 5):
        self.fail_first, self.delay_s, self.bad_every = fail_first, delay_s, bad_every
        self.calls = 0  # requests answered with 200
        self.bodies: list[str] = []
        self.auth: list = []
        self.in_flight = 0
        self._lock = threading.Lock()
        self._attempts = 0
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.teacher = self
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def answer(self, req: dict, body: str) -> str:
        h = int(hashlib.sha256(body.encode()).hexdigest()[:12], 16)
        rng = random.Random(h)
        if self.bad_every and h % self.bad_every == 0:
            return rng.choice(
                [
                    "Sure! Here is a task about something.",
                    json.dumps(
                        {
                            "instruction": "Is this email spam or not spam? Answer with one of the two labels.",
                            "input": "Win money now",
                            "output": "spam",
                        }
                    ),
                ]
            )
        words = rng.sample(VOCAB, 7)
        instruction = f"Write a sentence using {words[0]}, then {' '.join(words[1:5])} and finally {words[5]}."
        return (
            "```json\n"
            + json.dumps({"instruction": instruction, "input": "", "output": f"The {words[0]} met the {words[6]}."})
            + "\n```"
        )

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
