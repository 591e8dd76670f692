"""Open a page in headless Chromium and report what a person's browser would do with it, over the DevTools
protocol on --remote-debugging-pipe (fd 3: commands in, fd 4: replies and events out, each message JSON ended by
a NUL byte), so no websocket client or extra package is needed."""

import fcntl
import json
import os
import select
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

CHROMIUM = "/usr/bin/chromium-headless-shell"
# the report holds everything it shows: the page file itself and its embedded data: images, nothing else
OWN = ("file://", "data:")
# what the page shows once loaded: every image as the browser decoded it, and where the first table ends
PROBE = """({
  images: Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth, i.naturalHeight]),
  first_table_bottom: document.querySelector("table") ? document.querySelector("table").getBoundingClientRect().bottom
                                                      : null,
  viewport: [window.innerWidth, window.innerHeight],
})"""
# a guard against a hung browser, not a speed check: a page loads in seconds
HANG = 120.0


@dataclass
class PageVisit:
    requests: list = field(default_factory=list)  # every URL the page asked for
    errors: list = field(default_factory=list)  # console errors, uncaught exceptions, error log entries
    images: list = field(default_factory=list)  # [alt, complete, naturalWidth, naturalHeight] per <img>
    first_table_bottom: Optional[float] = None  # CSS pixels from the top of the page; None: no table
    viewport: tuple = (0, 0)  # width, height the page was laid out in

    @property
    def remote(self) -> list:
        return [u for u in self.requests if not u.startswith(OWN)]


def available() -> bool:
    return shutil.which(CHROMIUM) is not None


def visit(page: Path, timeout: float = HANG) -> PageVisit:
    """Load `page` (a local HTML file) and return its requests, errors and decoded images."""
    to_child_r, to_child_w = _high(os.pipe())
    from_child_r, from_child_w = _high(os.pipe())
    # bash (dash takes one-digit fds only) puts the two pipe ends on fds 3 and 4, where --remote-debugging-pipe
    # expects them
    cmd = ["/bin/bash", "-c", f'exec "$0" "$@" 3<&{to_child_r} 4>&{from_child_w}', CHROMIUM, "--headless",
           "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe", "--no-first-run", "--window-size=1280,800",
           "about:blank"]
    proc = subprocess.Popen(cmd, pass_fds=(to_child_r, from_child_w), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    os.close(to_child_r)
    os.close(from_child_w)
    pipe = _Pipe(to_child_w, from_child_r, time.monotonic() + timeout)
    try:
        return _load(pipe, page)
    finally:
        os.close(to_child_w)
        os.close(from_child_r)
        proc.kill()
        proc.wait()


def _high(fds: tuple) -> tuple:
    """The pipe's ends moved to fds 10 and up: one of them on fd 3 or 4 would be overwritten by the shell's
    redirections before it is read."""
    moved = tuple(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in fds)
    for fd in fds:
        os.close(fd)
    return moved


def _load(pipe: "_Pipe", page: Path) -> PageVisit:
    target = pipe.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = pipe.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Network", "Runtime", "Log"):
        pipe.call(f"{domain}.enable", session=session)
    seen = PageVisit()
    pipe.on_event = lambda msg: _record(seen, msg)
    pipe.call("Page.navigate", {"url": page.resolve().as_uri()}, session=session)
    pipe.wait_for("Page.loadEventFired")
    got = pipe.call("Runtime.evaluate", {"expression": PROBE, "returnByValue": True}, session=session)
    shown = got["result"]["value"]
    seen.images, seen.first_table_bottom, seen.viewport = shown["images"], shown["first_table_bottom"], \
        tuple(shown["viewport"])
    return seen


def _record(seen: PageVisit, msg: dict) -> None:
    method, params = msg.get("method"), msg.get("params", {})
    if method == "Network.requestWillBeSent":
        seen.requests.append(params["request"]["url"])
    elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
        seen.errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
    elif method == "Runtime.exceptionThrown":
        seen.errors.append(params["exceptionDetails"].get("text", "exception"))
    elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
        seen.errors.append(params["entry"].get("text", ""))


class _Pipe:
    """Commands out, replies and events in; events go to on_event as they arrive."""

    def __init__(self, out_fd: int, in_fd: int, deadline: float):
        self.out_fd, self.in_fd, self.deadline = out_fd, in_fd, deadline
        self.next_id, self.buffer = 0, b""
        self.on_event = lambda msg: None

    def call(self, method: str, params: dict = None, session: str = None) -> dict:
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.out_fd, json.dumps(msg).encode() + b"\0")
        reply = self._until(lambda m: m.get("id") == self.next_id)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def wait_for(self, method: str) -> dict:
        return self._until(lambda m: m.get("method") == method)

    def _until(self, wanted) -> dict:
        while True:
            while b"\0" in self.buffer:
                raw, self.buffer = self.buffer.split(b"\0", 1)
                msg = json.loads(raw)
                if "method" in msg:
                    self.on_event(msg)
                if wanted(msg):
                    return msg
            left = self.deadline - time.monotonic()
            if left <= 0 or not select.select([self.in_fd], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self.in_fd, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self.buffer += chunk
