"""CPU per persisted chat turn, server and client in one process: the number the hot path's work moves.

``benchmarks/server.py`` measures throughput over real HTTP, where the load generator shares the 2 cores and a
3-second run keeps conversations short. This one runs the app through httpx's ASGI transport on SQLite (or, with
``--postgres``, a fresh database on the machine's PostgreSQL) with
``scripted/echo``: ``--conversations`` conversations, each sending ``--turns`` non-streamed turns back to back
after a warm-up, so conversations grow past the default 20 rounds of history as a real one does. It prints the
process's CPU time per turn (server and client together: compare runs, not servers) and, with ``--profile``,
writes a pyinstrument profile of the measured turns.

    .venv/bin/python benchmarks/turn_cpu.py [--conversations 16] [--turns 100] [--warmup 20] [--profile PATH]
        [--postgres]

To compare two commits, run it with ``PYTHONPATH=<worktree>/src`` for the older one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from _report import print_table, write_json
from server import postgres_database

HERE = Path(__file__).resolve().parent
PLAIT = Path(sys.executable).with_name("plait")


def make_key(data_dir: Path, database_url: str = "") -> str:
    """An owner's key, made as an admin makes one: the last line ``plait keys create`` prints."""
    env = {**os.environ, "PLAIT_DATA_DIR": str(data_dir), "PLAIT_DATABASE_URL": database_url}
    made = subprocess.run([str(PLAIT), "keys", "create", "--name", "bench"], env=env, capture_output=True, text=True)
    made.check_returncode()
    return made.stdout.strip().splitlines()[-1]


async def measure(options: argparse.Namespace, data_dir: Path, database_url: str) -> tuple[dict[str, Any], str]:
    """The figures, and the profile's text ("" without ``--profile``)."""
    from plait.server import create_app
    from plait.settings import Settings

    key = make_key(data_dir, database_url)
    app = create_app(Settings.load(data_dir=data_dir, database_url=database_url))
    gc.freeze()  # as a worker does (``app_from_env``): the collector's full walks would be a fifth of the figure
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        headers = {"authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://plait", headers=headers) as http:
            space = (await http.get("/v1/workspaces")).json()["data"]["workspaces"][0]["id"]
            bot = {"space_id": space, "name": "bench", "model_info_config": {"model_id": "scripted/echo"}}
            bot_id = (await http.post("/v1/bot/create", json=bot)).json()["data"]["bot_id"]
            await http.post("/v1/bot/publish", json={"bot_id": bot_id, "connector_ids": ["1024"]})
            conversations = [
                (await http.post("/v1/conversation/create", json={"bot_id": bot_id})).json()["data"]["id"]
                for _ in range(options.conversations)
            ]

            async def talk(conversation_id: str, turns: int) -> None:
                question = {"role": "user", "content": "hello there", "content_type": "text"}
                body = {"bot_id": bot_id, "user_id": "bench", "stream": False, "additional_messages": [question]}
                params = {"conversation_id": conversation_id}
                for _ in range(turns):
                    answer = (await http.post("/v3/chat", params=params, json=body)).json()
                    if answer["code"] != 0 or answer["data"]["status"] != "completed":
                        raise RuntimeError(f"a turn failed: {answer}")

            await asyncio.gather(*(talk(c, options.warmup) for c in conversations))
            profiler = None
            if options.profile:
                from pyinstrument import Profiler

                profiler = Profiler(async_mode="disabled")
                profiler.start()
            cpu, wall = time.process_time(), time.perf_counter()
            await asyncio.gather(*(talk(c, options.turns) for c in conversations))
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            profile = ""
            if profiler is not None:
                profiler.stop()
                profile = profiler.output_text(color=False)
    turns = options.conversations * options.turns
    figures = {"turns": turns, "cpu_ms_per_turn": cpu / turns * 1000, "wall_ms_per_turn": wall / turns * 1000}
    return figures, profile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=16)
    parser.add_argument("--turns", type=int, default=100, help="measured turns per conversation")
    parser.add_argument("--warmup", type=int, default=20, help="turns per conversation before measuring")
    parser.add_argument("--profile", help="write a pyinstrument profile of the measured turns here")
    parser.add_argument("--postgres", action="store_true", help="a fresh database on 127.0.0.1:5432, not SQLite")
    parser.add_argument("--json", default=str(HERE / "results" / "turn_cpu.json"))
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir, contextlib.ExitStack() as stack:
        database_url = stack.enter_context(postgres_database()) if options.postgres else ""
        result, profile = asyncio.run(measure(options, Path(data_dir), database_url))
    if options.profile:
        Path(options.profile).write_text(profile)
    print_table(
        f"Persisted non-streamed turns, scripted/echo, {'PostgreSQL' if options.postgres else 'SQLite'}, app and "
        "client in one process",
        ["turns", "CPU ms per turn", "wall ms per turn"],
        [[result["turns"], f"{result['cpu_ms_per_turn']:.2f}", f"{result['wall_ms_per_turn']:.2f}"]],
    )
    print(f"results: {write_json(options.json, {'options': vars(options), **result})}")


if __name__ == "__main__":
    main()
