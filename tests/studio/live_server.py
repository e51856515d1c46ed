"""A real Plait server in a thread of this process, on 127.0.0.1 and a free port: what the studio tests and
the screenshots script talk to. Imported by name (``from live_server import serve``): pytest puts this folder
on ``sys.path``, and so does running a script from it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from plait.server import create_app
from plait.settings import Settings

START_SECONDS = 30


@contextmanager
def serve(settings: Settings) -> Iterator[str]:
    """The server's base URL while it runs; it stops (running chats and runs ended) when the block ends."""
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_SECONDS
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    (port,) = {sock.getsockname()[1] for s in server.servers for sock in s.sockets}
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=START_SECONDS)
