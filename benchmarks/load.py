"""Sustained load on PostgreSQL: ``--clients`` concurrent chat clients for ``--duration`` seconds against one
``plait serve`` on a fresh database of the machine's PostgreSQL (127.0.0.1:5432), the bot on ``scripted/echo``.

Each client has its own conversation and sends non-streamed turns back to back, each with a question unique to
the run (client and turn number). A turn is acknowledged when it answers HTTP 200, code 0, status completed.
Afterwards the database is read: every acknowledged question must be there exactly once with its answer, and
no question may be stored twice. Reported: turns, turns/s, p50/p95/p99 latency, errors, the check's verdict.

    .venv/bin/python benchmarks/load.py [--clients 200] [--duration 60] [--workers 2] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from server import (
    Plait,
    chat_body,
    ms_summary,
    new_conversations,
    plait_server,
    postgres_database,
    raise_fd_limit,
    scratch,
    set_up,
    verdict,
)


@dataclass(slots=True)
class Load:
    acknowledged: dict[str, str] = field(default_factory=dict)  # question -> chat id
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)


async def drive(plait: Plait, clients: int, duration: float) -> Load:
    load = Load()
    conversations = await new_conversations(plait, clients)
    deadline = time.monotonic() + duration

    async def client(index: int, conversation_id: str) -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        base, headers = plait.server.base_url, plait.headers
        async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=120) as http:
            turn = 0
            while time.monotonic() < deadline:
                question = f"load c{index} t{turn}"
                turn += 1
                started = time.perf_counter()
                try:
                    response = await http.post(
                        "/v3/chat",
                        params={"conversation_id": conversation_id},
                        json=chat_body(plait.bot_id, question, stream=False),
                    )
                    payload = response.json()
                except (httpx.HTTPError, ValueError) as exc:
                    load.errors[type(exc).__name__] += 1
                    continue
                data = payload.get("data") or {}
                if response.status_code == 200 and payload.get("code") == 0 and data.get("status") == "completed":
                    load.acknowledged[question] = data["id"]
                    load.latencies.append(time.perf_counter() - started)
                else:
                    load.errors[f"{response.status_code} {payload.get('code')} {data.get('status')}"] += 1

    await asyncio.gather(*(client(i, c) for i, c in enumerate(conversations)))
    return load


async def stored(database_url: str) -> tuple[Counter[str], set[str]]:
    """Questions as stored (with their counts) and the chat ids that have an answer."""
    import asyncpg  # type: ignore[import-untyped]

    connection = await asyncpg.connect(database_url)
    try:
        questions = Counter(
            row["content"]
            for row in await connection.fetch("SELECT content FROM messages WHERE type = 'question'")
            if row["content"].startswith("load ")
        )
        answered = {
            row["chat_id"] for row in await connection.fetch("SELECT chat_id FROM messages WHERE type = 'answer'")
        }
        return questions, answered
    finally:
        await connection.close()


def run(options: argparse.Namespace) -> dict[str, Any]:
    raise_fd_limit(4 * options.clients + 256)
    with (
        scratch() as root,
        postgres_database() as database_url,
        plait_server(root, options.workers, database_url) as server,
    ):
        plait = asyncio.run(set_up(server))
        started = time.monotonic()
        load = asyncio.run(drive(plait, options.clients, options.duration))
        wall = time.monotonic() - started
        questions, answered = asyncio.run(stored(database_url))
    missing = [q for q in load.acknowledged if questions[q] == 0]
    unanswered = [q for q, chat_id in load.acknowledged.items() if chat_id not in answered]
    duplicated = [q for q, count in questions.items() if count > 1]
    passed = not (missing or unanswered or duplicated)
    return {
        "clients": options.clients,
        "duration_s": options.duration,
        "workers": options.workers,
        "wall_s": round(wall, 1),
        "acknowledged": len(load.acknowledged),
        "turns_per_s": round(len(load.acknowledged) / wall, 1),
        **{key: round(value, 1) for key, value in ms_summary(load.latencies).items()},
        "errors": dict(load.errors),
        "stored_questions": sum(questions.values()),
        "missing": len(missing),
        "unanswered": len(unanswered),
        "duplicated": len(duplicated),
        "examples": (missing + unanswered + duplicated)[:5],
        "verdict": verdict(passed),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--workers", type=int, default=2, help="plait serve --workers")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    options = parser.parse_args()
    figures = run(options)
    print(json.dumps(figures, indent=1))
    if options.json:
        options.json.write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()
