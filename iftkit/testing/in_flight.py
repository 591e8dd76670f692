"""Requests in flight on a fake server: tests read `in_flight` (and `max_in_flight`, where the server keeps
it) to check how many calls a client really sends at once."""

from contextlib import contextmanager


@contextmanager
def counted(state, lock):
    """The block runs as one request in flight on `state`, counted under `lock`."""
    with lock:
        state.in_flight += 1
        if hasattr(state, "max_in_flight"):
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
    try:
        yield
    finally:
        with lock:
            state.in_flight -= 1
