"""Server throughput and latency: ``plait serve`` on SQLite and PostgreSQL over real HTTP, next to bare FastAPI.

Every server runs in its own process (a temporary data dir, a free port on 127.0.0.1, access logs off); the
load comes from other processes, httpx.AsyncClient with keep-alive, on uvloop when it is installed.

1. Non-streamed chat turns (on SQLite with ``--workers``, then on a fresh database of the machine's PostgreSQL,
   127.0.0.1:5432, with ``--pg-workers``): ``--clients`` clients, each its own AsyncClient and conversation with
   a published ``scripted/echo`` bot, send ``POST /v3/chat`` (one user message) back to back; after ``--warmup``
   seconds, turns completing within ``--duration`` seconds are counted. A turn loads the bot and history and
   saves a question, an answer and the chat; each answer must be ``code 0`` with status ``completed``. The same
   load then hits a bare FastAPI endpoint (this file's ``bare_app``: it parses the same body and returns the JSON
   Plait answered) on uvicorn with the same worker count: its number is the ceiling of this machine and load
   generator, and plait/bare is the share of it Plait keeps. After each SQLite run, ``floor_app.py`` (the bare
   endpoint plus the turn's reads and group-committed writes, on the database Plait just used) takes the same
   load: the share of the ceiling any server keeps once it stores turns on this stack. Server and generator CPU
   are reported, since on 2 cores they compete, and a saturated generator caps both numbers.
2. Streaming first event: one client on an idle server, ``--first-n`` streamed chats, interleaved with the
   bare endpoint streaming a tiny SSE answer. Times from sending the request to the response headers, the
   first body byte, ``conversation.chat.created`` and the first ``conversation.message.delta``. ``scripted/echo``
   yields its first token at once, so delta - chat.created is the run's cost from its start (agent, prompt,
   model call, event log, SSE encoding) up to the client: an upper bound of the overhead over the model's first
   token. Plait's first delta minus bare's first byte is the whole server's cost, database work included.
3. Concurrent SSE streams: ``--streams`` streamed chats at once, each in a new conversation, answering
   ``STREAM_WORDS`` words as as many deltas. Each stream must end with ``chat.completed`` and ``done`` and carry
   the whole answer; then the SQLite file is read to check every chat is completed with its question and answer.
   These clients are bare asyncio connections (``raw_stream_chat``): httpx parsing 500 streams took more CPU than
   the server, and the generator's lag showed up as the server's first-delta time.

Last, the chat hot path's targets (``MIN_SHARE_OF_BARE`` and the three constants after it) beside what the run
measured.

    .venv/bin/python benchmarks/server.py [--clients 32] [--duration 10] [--warmup 2] [--workers 1,2] [--pg-workers 2]
        [--streams 500] [--first-n 200] [--loadgen-procs 1] [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel

from _report import print_table, write_json

HERE = Path(__file__).resolve().parent
PLAIT = Path(sys.executable).with_name("plait")
DEFAULT_JSON = HERE / "results" / "server.json"
HOST = "127.0.0.1"
MODEL = "scripted/echo"
QUESTION = "how many chat turns a second does one small server take"
STREAM_WORDS = 40
BARE_ANSWER_ENV = "PLAIT_BENCH_BARE_ANSWER"  # the JSON the bare app answers with, captured from Plait
FLOOR_DATABASE_ENV = "PLAIT_BENCH_FLOOR_DATABASE"  # the database floor_app.py works on
PG_ADMIN_DSN = f"postgresql://postgres@{HOST}:5432/postgres"

MIN_TURNS_PER_S = 250.0
MAX_P99_MS = 150.0
MAX_FIRST_EVENT_OVERHEAD_MS = 5.0
# The chat hot path's targets, as ratios since machines differ
MIN_SHARE_OF_BARE = 0.4  # SQLite, one worker
MIN_POSTGRES_OVER_SQLITE = 1.8  # PostgreSQL with two workers over SQLite with one
MAX_FIRST_DELTA_OVER_BARE_MS = 5.0  # p50 of Plait's first delta minus bare's first byte
MAX_CONCURRENT_FIRST_DELTA_P99_MS = 1000.0


# -- servers ----------------------------------------------------------------------------------------------
def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def proc_stat(pid: int) -> list[str]:
    """The fields of ``/proc/<pid>/stat`` after the command name (the state first)."""
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its descendants (uvicorn's workers, PostgreSQL's backends), from /proc;
    0 where unreadable. Children that exited count through their parent's cutime and cstime."""
    ticks = os.sysconf("SC_CLK_TCK")
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            stat = proc_stat(current)
            total += sum(int(value) for value in stat[11:15]) / ticks  # utime, stime, cutime, cstime
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except (OSError, IndexError, ValueError):
            continue
        pending.extend(int(child) for child in children)
    return total


class Server:
    """A server process (and its workers) in a session of its own, stopped as a group."""

    def __init__(self, name: str, argv: Sequence[str], env: Mapping[str, str], port: int, log: Path) -> None:
        self.name, self.argv, self.env, self.port, self.log_path = name, list(argv), dict(env), port, log
        self.base_url = f"http://{HOST}:{port}"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.argv, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_path.read_text()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.base_url + "/health", timeout=1).status_code == 200:
                    return self
            time.sleep(0.1)
        self.__exit__()
        raise RuntimeError(f"{self.name} did not answer /health within 60 s:\n{self.log_path.read_text()}")

    def __exit__(self, *_: object) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def cpu_seconds(self) -> float:
        assert self.process is not None
        return tree_cpu_seconds(self.process.pid)

    def sqlite_file(self) -> Path:
        """The database of a Plait server started with no ``PLAIT_DATABASE_URL``."""
        return Path(self.env["PLAIT_DATA_DIR"]) / "plait.db"


def postmaster_pid(dsn: str) -> int | None:
    """The PostgreSQL server's main process (its backends are its children), when it runs on this machine."""
    import asyncpg

    async def parent_of_backend() -> int | None:
        connection = await asyncpg.connect(dsn)
        try:
            backend = int(await connection.fetchval("SELECT pg_backend_pid()"))
            stat = await asyncio.to_thread(proc_stat, backend)  # read while it lives
        except OSError:
            return None
        finally:
            await connection.close()
        return int(stat[1])  # the backend's parent

    return asyncio.run(parent_of_backend())


def plait_env(data_dir: Path, port: int, workers: int, database_url: str = "") -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("PLAIT_")}
    env |= {
        "PLAIT_DATA_DIR": str(data_dir),
        "PLAIT_DATABASE_URL": database_url,
        "PLAIT_PORT": str(port),
        "PLAIT_WORKERS": str(workers),
        "PLAIT_LOG_LEVEL": "WARNING",  # no access log line per request, as for the bare app
        "PLAIT_DEFAULT_MODEL": MODEL,
        "PLAIT_EMBEDDER": "hashing",
        # One key drives every client: past its burst, the default limit (200/s a key) would be measured, not
        # the turn. 0 is no limit.
        "PLAIT_RATE_LIMIT_KEY_PER_SECOND": "0",
        "PLAIT_RATE_LIMIT_WORKSPACE_PER_SECOND": "0",
    }
    return env


def plait_server(root: Path, workers: int, database_url: str = "") -> Server:
    data_dir = Path(tempfile.mkdtemp(prefix=f"plait-w{workers}-", dir=root))
    port = free_port()
    argv = [str(PLAIT), "serve", "--port", str(port), "--workers", str(workers)]
    env = plait_env(data_dir, port, workers, database_url)
    return Server(f"plait serve (workers={workers})", argv, env, port, data_dir / "log")


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database on the machine's PostgreSQL (127.0.0.1:5432, trust auth), dropped afterwards."""
    import asyncpg  # type: ignore[import-untyped]

    name = f"plait_bench_{os.getpid()}_{int(time.time())}"

    async def admin(statement: str) -> None:
        connection = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql://postgres@{HOST}:5432/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def bare_server(root: Path, workers: int, answer: Mapping[str, Any]) -> Server:
    return uvicorn_server(root, "server:bare_app", f"bare FastAPI (workers={workers})", workers, answer, {})


def floor_server(root: Path, workers: int, answer: Mapping[str, Any], database_url: str) -> Server:
    """``floor_app.py``: the bare endpoint plus the turn's database work."""
    name = f"FastAPI + a turn's SQL (workers={workers})"
    return uvicorn_server(root, "floor_app:floor_app", name, workers, answer, {FLOOR_DATABASE_ENV: database_url})


def uvicorn_server(
    root: Path, factory: str, name: str, workers: int, answer: Mapping[str, Any], env: Mapping[str, str]
) -> Server:
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", factory, "--factory", "--app-dir", str(HERE)]
    argv += ["--host", HOST, "--port", str(port), "--workers", str(workers), "--log-level", "warning"]
    env = {**os.environ, **env, BARE_ANSWER_ENV: json.dumps(answer)}
    return Server(name, argv, env, port, root / f"{factory.partition(':')[0]}-w{workers}-{port}.log")


class BareChatBody(BaseModel):
    """The fields of Plait's chat body the bare app parses (module level: FastAPI resolves it by name)."""

    bot_id: str
    user_id: str | None = None
    additional_messages: list[dict[str, Any]] | None = None
    stream: bool | None = None
    auto_save_history: bool | None = None


def bare_app() -> Any:
    """The ceiling: FastAPI parsing a chat body and answering fixed JSON (or a four-event SSE stream), no database."""
    from fastapi import FastAPI
    from fastapi.responses import StreamingResponse

    answer: dict[str, Any] = json.loads(
        os.environ.get(BARE_ANSWER_ENV, '{"code": 0, "msg": "", "data": {"status": "completed"}}')
    )
    chat = answer["data"]
    delta = {"id": "1", "role": "assistant", "type": "answer", "content": "hi", "content_type": "text"}
    events = [("conversation.chat.created", chat), ("conversation.message.delta", delta)]
    events += [("conversation.chat.completed", chat), ("done", "[DONE]")]
    stream_body = [f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n" for kind, data in events]

    app = FastAPI()

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v3/chat", response_model=None)
    async def chat_endpoint(
        body: BareChatBody, conversation_id: str | None = None
    ) -> dict[str, Any] | StreamingResponse:
        if body.stream:

            async def sse() -> Any:
                for chunk in stream_body:
                    yield chunk

            return StreamingResponse(sse(), media_type="text/event-stream", headers={"cache-control": "no-cache"})
        return answer

    return app


# -- setting up Plait over its API ------------------------------------------------------------------------
def create_key(server: Server) -> str:
    done = subprocess.run(
        [str(PLAIT), "keys", "create", "--name", "bench"], env=server.env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip().splitlines()[-1]


def data_of(response: httpx.Response) -> Any:
    """The ``data`` of a Coze envelope; anything but HTTP 200 and code 0 is an error."""
    payload = response.json()
    if response.status_code != 200 or payload.get("code") != 0:
        raise RuntimeError(f"{response.request.method} {response.request.url.path}: {response.status_code} {payload}")
    return payload.get("data")


@dataclass(slots=True)
class Plait:
    """A running Plait server, a key and a published echo bot."""

    server: Server
    token: str
    bot_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}

    def saved_turns(self) -> tuple[int, int]:
        """Completed chats and answer messages in the server's database."""
        chats = "SELECT count(*) FROM chats WHERE status = 'completed'"
        answers = "SELECT count(*) FROM messages WHERE type = 'answer'"
        url = self.server.env["PLAIT_DATABASE_URL"]
        if not url:
            database = self.server.sqlite_file()
            with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
                return int(db.execute(chats).fetchone()[0]), int(db.execute(answers).fetchone()[0])
        import asyncpg

        async def count() -> tuple[int, int]:
            connection = await asyncpg.connect(url)
            try:
                return int(await connection.fetchval(chats)), int(await connection.fetchval(answers))
            finally:
                await connection.close()

        return asyncio.run(count())


async def set_up(server: Server) -> Plait:
    token = create_key(server)
    headers = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers, timeout=30) as client:
        space_id = data_of(await client.get("/v1/workspaces"))["workspaces"][0]["id"]
        body = {"space_id": space_id, "name": "bench echo", "model_info_config": {"model_id": MODEL}}
        bot_id = data_of(await client.post("/v1/bot/create", json=body))["bot_id"]
        data_of(await client.post("/v1/bot/publish", json={"bot_id": bot_id}))
    return Plait(server, token, bot_id)


async def new_conversations(plait: Plait, count: int, history: int = 0) -> list[str]:
    """``count`` conversations, each holding ``history`` earlier messages (questions and answers, alternating)."""
    earlier = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": f"earlier message {i} {QUESTION}"}
        for i in range(history)
    ]
    async with httpx.AsyncClient(base_url=plait.server.base_url, headers=plait.headers, timeout=30) as client:
        body = {"bot_id": plait.bot_id, "messages": earlier}
        return [data_of(await client.post("/v1/conversation/create", json=body))["id"] for _ in range(count)]


def chat_body(bot_id: str, text: str, *, stream: bool) -> dict[str, Any]:
    message = {"role": "user", "content": text, "content_type": "text"}
    return {"bot_id": bot_id, "user_id": "bench", "stream": stream, "additional_messages": [message]}


async def sample_answer(plait: Plait, conversation_id: str) -> dict[str, Any]:
    """One non-streamed turn: checks the path works, and is the JSON the bare app answers with."""
    async with httpx.AsyncClient(base_url=plait.server.base_url, headers=plait.headers, timeout=30) as client:
        response = await client.post(
            "/v3/chat",
            params={"conversation_id": conversation_id},
            json=chat_body(plait.bot_id, QUESTION, stream=False),
        )
    chat = data_of(response)
    if chat["status"] != "completed":
        raise RuntimeError(f"the sample turn ended {chat['status']}: {chat}")
    payload: dict[str, Any] = response.json()
    return payload


# -- 1. non-streamed turns, from load generator processes -------------------------------------------------
@dataclass(frozen=True, slots=True)
class LoadSpec:
    base_url: str
    headers: dict[str, str]
    requests: list[tuple[dict[str, str], dict[str, Any]]]  # per client: query params and body
    measure_from: float  # time.time() of the window's start; warm-up before it
    measure_to: float
    uvloop: bool


@dataclass(slots=True)
class LoadResult:
    latencies: list[float] = field(default_factory=list)  # seconds, turns completed within the window
    ok: int = 0  # good answers over the whole run, warm-up included
    errors: int = 0
    first_errors: list[str] = field(default_factory=list)
    cpu_s: float = 0.0  # the generator's own CPU within the window


def run_load(spec: LoadSpec) -> LoadResult:
    """A load generator process: one AsyncClient per client, each sending its turn back to back."""
    runner: Callable[[Coroutine[Any, Any, LoadResult]], LoadResult] = asyncio.run
    if spec.uvloop:
        import uvloop

        runner = uvloop.run
    return runner(_drive(spec))


async def _drive(spec: LoadSpec) -> LoadResult:
    result = LoadResult()

    async def client(params: dict[str, str], body: dict[str, Any]) -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=spec.base_url, headers=spec.headers, limits=limits, timeout=60) as http:
            while time.time() < spec.measure_to:
                started = time.perf_counter()
                try:
                    response = await http.post("/v3/chat", params=params, json=body)
                    payload = response.json()
                    good = response.status_code == 200 and payload["code"] == 0
                    good = good and payload["data"]["status"] == "completed"
                    problem = "" if good else f"{response.status_code} {str(payload)[:300]}"
                except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                    problem = f"{type(exc).__name__}: {exc}"
                finished = time.perf_counter()
                if problem:
                    result.errors += 1
                    if len(result.first_errors) < 3:
                        result.first_errors.append(problem)
                    continue
                result.ok += 1
                if spec.measure_from <= time.time() <= spec.measure_to:
                    result.latencies.append(finished - started)

    async def cpu_meter() -> None:
        await asyncio.sleep(max(0.0, spec.measure_from - time.time()))
        before = time.process_time()
        await asyncio.sleep(max(0.0, spec.measure_to - time.time()))
        result.cpu_s = time.process_time() - before

    await asyncio.gather(cpu_meter(), *(client(params, body) for params, body in spec.requests))
    return result


@dataclass(slots=True)
class Throughput:
    target: str
    workers: int
    clients: int
    duration_s: float
    turns: int
    turns_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int
    ok_total: int
    server_cpu_cores: float
    loadgen_cpu_cores: float
    loadgen_procs: int
    database_cpu_cores: float | None  # PostgreSQL's processes; SQLite's work is in the server's
    first_errors: list[str]


def percentile(ordered: Sequence[float], q: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure_turns(
    server: Server,
    target: str,
    workers: int,
    headers: dict[str, str],
    requests: list[tuple[dict[str, str], dict[str, Any]]],
    options: argparse.Namespace,
    database_pid: int | None = None,
) -> Throughput:
    """Run the load from ``--loadgen-procs`` processes; the server's (and the database's) CPU is sampled over the
    same window."""
    procs = max(1, min(options.loadgen_procs, len(requests)))
    start = time.time() + 1.5  # time for the generator processes to start
    measure_from, measure_to = start + options.warmup, start + options.warmup + options.duration
    specs = [
        LoadSpec(server.base_url, headers, requests[i::procs], measure_from, measure_to, options.uvloop)
        for i in range(procs)
    ]
    with ProcessPoolExecutor(max_workers=procs, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(run_load, spec) for spec in specs]
        time.sleep(max(0.0, measure_from - time.time()))
        cpu_before = server.cpu_seconds()
        database_before = tree_cpu_seconds(database_pid) if database_pid else 0.0
        time.sleep(max(0.0, measure_to - time.time()))
        server_cpu = server.cpu_seconds() - cpu_before
        database_cpu = tree_cpu_seconds(database_pid) - database_before if database_pid else None
        results = [future.result() for future in futures]
    latencies = sorted(latency for result in results for latency in result.latencies)
    row = Throughput(
        target=target,
        workers=workers,
        clients=len(requests),
        duration_s=options.duration,
        turns=len(latencies),
        turns_per_s=len(latencies) / options.duration,
        p50_ms=percentile(latencies, 0.50) * 1e3,
        p95_ms=percentile(latencies, 0.95) * 1e3,
        p99_ms=percentile(latencies, 0.99) * 1e3,
        errors=sum(result.errors for result in results),
        ok_total=sum(result.ok for result in results),
        server_cpu_cores=server_cpu / options.duration,
        loadgen_cpu_cores=sum(result.cpu_s for result in results) / options.duration,
        loadgen_procs=procs,
        database_cpu_cores=None if database_cpu is None else database_cpu / options.duration,
        first_errors=[problem for result in results for problem in result.first_errors][:3],
    )
    print(
        f"  {target} workers={workers}: {row.turns_per_s:,.0f} turns/s, p50 {row.p50_ms:.1f} ms, "
        f"p99 {row.p99_ms:.1f} ms, errors {row.errors}, CPU server {row.server_cpu_cores:.2f} "
        f"loadgen {row.loadgen_cpu_cores:.2f} cores",
        file=sys.stderr,
        flush=True,
    )
    return row


# -- 2. and 3. streamed chats -------------------------------------------------------------------------------
@dataclass(slots=True)
class Stream:
    """Timestamps (seconds from sending the request) and content of one streamed chat."""

    headers_s: float = float("nan")
    first_byte_s: float = float("nan")
    created_s: float = float("nan")
    first_delta_s: float = float("nan")
    done_s: float = float("nan")
    answer: str = ""
    completed: bool = False
    done: bool = False
    chat_id: str = ""
    error: str = ""


async def stream_chat(client: httpx.AsyncClient, params: dict[str, str], body: dict[str, Any]) -> Stream:
    """Send one streamed chat and read it to ``done``, timing the first of each kind of event."""
    seen = Stream()
    started = time.perf_counter()
    try:
        async with client.stream("POST", "/v3/chat", params=params, json=body) as response:
            seen.headers_s = time.perf_counter() - started
            if response.status_code != 200:
                seen.error = f"HTTP {response.status_code}: {(await response.aread())[:300]!r}"
                return seen
            buffer = b""
            async for chunk in response.aiter_raw():
                now = time.perf_counter() - started
                if seen.first_byte_s != seen.first_byte_s:  # still NaN
                    seen.first_byte_s = now
                buffer += chunk
                *events, buffer = buffer.split(b"\n\n")
                for event in events:
                    _take(seen, event.decode(), now)
    except httpx.HTTPError as exc:
        seen.error = f"{type(exc).__name__}: {exc}"
        return seen
    if not (seen.done and seen.completed):
        seen.error = seen.error or f"the stream ended without chat.completed and done (done={seen.done})"
    return seen


def _take(seen: Stream, event: str, now: float) -> None:
    kind, _, data = event.partition("\ndata: ")
    kind = kind.removeprefix("event: ")
    if kind == "conversation.chat.created":
        seen.created_s = now
        seen.chat_id = json.loads(data)["id"]
    elif kind == "conversation.message.delta":
        if seen.first_delta_s != seen.first_delta_s:
            seen.first_delta_s = now
        seen.answer += json.loads(data)["content"]
    elif kind == "conversation.chat.completed":
        seen.completed = True
    elif kind == "conversation.chat.failed":
        seen.error = f"chat failed: {data[:300]}"
    elif kind == "done":
        seen.done, seen.done_s = True, now


def ms_summary(values: Sequence[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50_ms": statistics.median(ordered) * 1e3 if ordered else float("nan"),
        "p95_ms": percentile(ordered, 0.95) * 1e3,
        "p99_ms": percentile(ordered, 0.99) * 1e3,
    }


async def first_event(plait: Plait, bare: Server, conversation_id: str, n: int) -> dict[str, Any]:
    """One client, idle servers: Plait and bare streams alternate so drift in machine load hits both."""
    plait_body = chat_body(plait.bot_id, QUESTION, stream=True)
    params = {"conversation_id": conversation_id}
    warmup = max(5, n // 10)
    plait_runs: list[Stream] = []
    bare_runs: list[Stream] = []
    async with (
        httpx.AsyncClient(base_url=plait.server.base_url, headers=plait.headers, timeout=30) as to_plait,
        httpx.AsyncClient(base_url=bare.base_url, timeout=30) as to_bare,
    ):
        for index in range(warmup + n):
            mine = await stream_chat(to_plait, params, plait_body)
            theirs = await stream_chat(to_bare, params, plait_body)
            for seen in (mine, theirs):
                if seen.error:
                    raise RuntimeError(f"streamed chat failed: {seen.error}")
            if index >= warmup:
                plait_runs.append(mine)
                bare_runs.append(theirs)
    figures = {
        "plait: request -> response headers": ms_summary([s.headers_s for s in plait_runs]),
        "plait: request -> first body byte": ms_summary([s.first_byte_s for s in plait_runs]),
        "plait: request -> conversation.chat.created": ms_summary([s.created_s for s in plait_runs]),
        "plait: request -> first conversation.message.delta": ms_summary([s.first_delta_s for s in plait_runs]),
        "plait: first delta - chat.created (run start -> client)": ms_summary(
            [s.first_delta_s - s.created_s for s in plait_runs]
        ),
        "bare: request -> first body byte": ms_summary([s.first_byte_s for s in bare_runs]),
        "plait first delta - bare first byte (paired)": ms_summary(
            [p.first_delta_s - b.first_byte_s for p, b in zip(plait_runs, bare_runs, strict=True)]
        ),
    }
    same_chunk = sum(s.first_delta_s == s.created_s for s in plait_runs)
    return {"n": n, "warmup": warmup, "figures": figures, "delta_in_same_read_as_created": same_chunk}


async def raw_stream_chat(base_url: str, headers: Mapping[str, str], body: dict[str, Any]) -> Stream:
    """One streamed chat over a bare asyncio connection: the request written as prepared bytes, the response
    read as it comes and parsed once it ended. With hundreds of streams at once an HTTP client library's own
    parsing costs the generator more CPU than the server spends (httpx: about 12 ms a stream here, the server
    about 5), so it, not the server, would set the first-delta times."""
    seen = Stream()
    host, _, port = base_url.removeprefix("http://").partition(":")
    payload = json.dumps(body).encode()
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    request = (
        f"POST /v3/chat HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n{head}"
        f"content-length: {len(payload)}\r\nconnection: close\r\n\r\n"
    ).encode() + payload
    started = time.perf_counter()
    try:
        reader, writer = await asyncio.open_connection(host, int(port))
    except OSError as exc:
        seen.error = f"connect: {exc}"
        return seen
    try:
        writer.write(request)
        received = bytearray()
        while chunk := await reader.read(65536):
            now = time.perf_counter() - started
            if not received:
                seen.headers_s = seen.first_byte_s = now
            received += chunk
            if seen.first_delta_s != seen.first_delta_s and b"event: conversation.message.delta" in received:
                seen.first_delta_s = now
        end = time.perf_counter() - started
    finally:
        writer.close()
    head_bytes, _, chunked = bytes(received).partition(b"\r\n\r\n")
    if not head_bytes.startswith(b"HTTP/1.1 200"):
        seen.error = f"{head_bytes[:200]!r}"
        return seen
    for event in _dechunk(chunked).split(b"\n\n"):
        if event:
            _take(seen, event.decode(), end)
    if not (seen.done and seen.completed):
        seen.error = seen.error or f"the stream ended without chat.completed and done (done={seen.done})"
    return seen


def _dechunk(body: bytes) -> bytes:
    """An HTTP/1.1 chunked body, unframed."""
    out, at = bytearray(), 0
    while True:
        line_end = body.index(b"\r\n", at)
        size = int(body[at:line_end].split(b";")[0], 16)
        if size == 0:
            return bytes(out)
        out += body[line_end + 2 : line_end + 2 + size]
        at = line_end + 2 + size + 2


async def many_streams(plait: Plait, count: int) -> dict[str, Any]:
    """``count`` streamed chats at once, each in a new conversation; then every chat is checked in SQLite."""
    words = " ".join(f"w{i}" for i in range(STREAM_WORDS))
    texts = [f"s{index} {words}" for index in range(count)]
    started = time.perf_counter()
    streams = await asyncio.gather(
        *(raw_stream_chat(plait.server.base_url, plait.headers, chat_body(plait.bot_id, t, stream=True)) for t in texts)
    )
    wall = time.perf_counter() - started
    problems = [s.error for s in streams if s.error]
    problems += [
        f"chat {s.chat_id}: streamed answer differs" for s, t in zip(streams, texts, strict=True) if s.answer != t
    ]
    chat_ids = {s.chat_id: t for s, t in zip(streams, texts, strict=True) if s.chat_id}
    database = plait.server.sqlite_file()  # the streams run on SQLite
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        marks = ",".join("?" * len(chat_ids))
        statuses = dict(db.execute(f"SELECT id, status FROM chats WHERE id IN ({marks})", list(chat_ids)).fetchall())
        stored: dict[str, dict[str, str]] = {}
        query = f"SELECT chat_id, type, content FROM messages WHERE chat_id IN ({marks})"
        for chat_id, kind, content in db.execute(query, list(chat_ids)):
            stored.setdefault(chat_id, {})[kind] = content
    verified = 0
    for chat_id, text in chat_ids.items():
        saved = stored.get(chat_id, {})
        if statuses.get(chat_id) == "completed" and saved.get("question") == text and saved.get("answer") == text:
            verified += 1
        else:
            problems.append(f"chat {chat_id}: status {statuses.get(chat_id)}, saved {sorted(saved)}")
    return {
        "streams": count,
        "words_per_answer": STREAM_WORDS + 1,
        "wall_s": wall,
        "errors": len(problems),
        "first_errors": problems[:5],
        "verified_in_database": verified,
        "first_delta": ms_summary([s.first_delta_s for s in streams if not s.error]),
        "stream_done": ms_summary([s.done_s for s in streams if not s.error]),
    }


# -- the run ------------------------------------------------------------------------------------------------
def raise_fd_limit(wanted: int) -> tuple[int, int]:
    """Raise this process's soft limit on open files (children inherit it); returns the limits now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="plait-bench-server-") as folder:
        yield Path(folder)


def verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def run(options: argparse.Namespace) -> None:
    fd_limits = raise_fd_limit(4 * options.streams + 1024)
    load_before = os.getloadavg()
    print(
        f"server benchmark: {options.clients} clients, {options.warmup:g} s warm-up + {options.duration:g} s, "
        f"workers {options.workers}, {options.streams} streams, uvloop in the generator: {options.uvloop}, "
        f"load average before {load_before}",
        file=sys.stderr,
    )
    turns: list[Throughput] = []
    database_checks: list[dict[str, Any]] = []
    with scratch() as root:
        runs = [("plait", workers) for workers in options.workers]
        runs += [("plait-pg", workers) for workers in options.pg_workers]
        for target, workers in runs:
            with contextlib.ExitStack() as stack:
                url = stack.enter_context(postgres_database()) if target == "plait-pg" else ""
                server = stack.enter_context(plait_server(root, workers, url))
                plait = asyncio.run(set_up(server))
                conversations = asyncio.run(new_conversations(plait, options.clients, options.history))
                answer = asyncio.run(sample_answer(plait, conversations[0]))
                body = chat_body(plait.bot_id, QUESTION, stream=False)
                requests = [({"conversation_id": conversation}, body) for conversation in conversations]
                database_pid = postmaster_pid(url) if url else None
                row = measure_turns(server, target, workers, plait.headers, requests, options, database_pid)
                turns.append(row)
                chats, answers = plait.saved_turns()
                database_checks.append(
                    {
                        "target": target,
                        "workers": workers,
                        "ok_answers": row.ok_total + 1,
                        "completed_chats": chats,
                        "answers": answers,
                    }
                )
            if not any(row.target == "bare" and row.workers == workers for row in turns):
                with bare_server(root, workers, answer) as bare:
                    turns.append(measure_turns(bare, "bare", workers, {}, requests, options))
            if target == "plait":  # on the database Plait just used, so the conversations are as long
                database_url = f"sqlite+aiosqlite:///{server.sqlite_file()}"
                with floor_server(root, workers, answer, database_url) as floor:
                    turns.append(measure_turns(floor, "floor", workers, {}, requests, options))

        best = max((row for row in turns if row.target == "plait"), key=lambda row: row.turns_per_s)  # SQLite
        stream_workers = options.stream_workers or best.workers
        with plait_server(root, stream_workers) as server, bare_server(root, 1, answer) as bare:
            plait = asyncio.run(set_up(server))
            (conversation,) = asyncio.run(new_conversations(plait, 1))
            print(f"  first event: {options.first_n} streams each, one client", file=sys.stderr, flush=True)
            first = asyncio.run(first_event(plait, bare, conversation, options.first_n))
            print(f"  {options.streams} concurrent streams", file=sys.stderr, flush=True)
            concurrent = asyncio.run(many_streams(plait, options.streams))
    load_after = os.getloadavg()
    report(options, turns, database_checks, first, concurrent, stream_workers, fd_limits, (load_before, load_after))


def report(
    options: argparse.Namespace,
    turns: list[Throughput],
    database_checks: list[dict[str, Any]],
    first: dict[str, Any],
    concurrent: dict[str, Any],
    stream_workers: int,
    fd_limits: tuple[int, int],
    load: tuple[tuple[float, float, float], tuple[float, float, float]],
) -> None:
    bare = {row.workers: row for row in turns if row.target == "bare"}
    table = []
    for row in turns:
        ratio = row.turns_per_s / bare[row.workers].turns_per_s if row.target != "bare" else None
        passed = row.turns_per_s >= MIN_TURNS_PER_S and row.p99_ms < MAX_P99_MS and row.errors == 0
        table.append(
            [
                f"{row.target}, workers={row.workers}",
                f"{row.turns_per_s:,.0f}",
                f"{row.p50_ms:.1f}",
                f"{row.p95_ms:.1f}",
                f"{row.p99_ms:.1f}",
                row.errors,
                f"{row.server_cpu_cores:.2f}",
                f"{row.loadgen_cpu_cores:.2f}",
                "" if row.database_cpu_cores is None else f"{row.database_cpu_cores:.2f}",
                "" if ratio is None else f"{ratio:.2f}",
                verdict(passed) if row.target.startswith("plait") else "",
            ]
        )
    print_table(
        f"Non-streamed chat turns, {options.clients} clients, {options.duration:g} s after {options.warmup:g} s "
        f"warm-up (CPU in cores of {os.cpu_count()})",
        [
            "server",
            "turns/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "errors",
            "server CPU",
            "loadgen CPU",
            "PostgreSQL CPU",
            "plait/bare",
            f"≥ {MIN_TURNS_PER_S:g}/s, p99 < {MAX_P99_MS:g} ms",
        ],
        table,
    )
    for check in database_checks:
        print(
            f"  {check['target']} workers={check['workers']}, read back from its database: "
            f"{check['completed_chats']} completed chats, {check['answers']} answers, "
            f"for {check['ok_answers']} good answers received"
        )
    saturated = [row for row in turns if row.loadgen_cpu_cores >= 0.85 * row.loadgen_procs]
    print(
        f"Load generator: {turns[0].loadgen_procs} process(es), httpx AsyncClient, uvloop {options.uvloop}. "
        + (
            "It used ≥ 85% of a core per process on "
            + ", ".join(f"{row.target} w={row.workers}" for row in saturated)
            + ": there the generator, not the server, sets the pace (the numbers are floors)."
            if saturated
            else "It never used ≥ 85% of a core per process: the servers set the pace."
        )
    )
    print(
        "Server and generator share the machine's cores: a bare number is the ceiling of this machine with this "
        "generator, and plait/bare is the share of it Plait keeps."
    )

    overhead = first["figures"]["plait: first delta - chat.created (run start -> client)"]["p50_ms"]
    table = []
    for label, figures in first["figures"].items():
        line = [label, f"{figures['p50_ms']:.2f}", f"{figures['p95_ms']:.2f}", f"{figures['p99_ms']:.2f}"]
        if label.startswith("plait: first delta - chat.created"):
            line += [f"< {MAX_FIRST_EVENT_OVERHEAD_MS:g}", verdict(overhead < MAX_FIRST_EVENT_OVERHEAD_MS)]
        else:
            line += ["", ""]
        table.append(line)
    print_table(
        f"Streaming first event, one client, idle server (workers={stream_workers}), n={first['n']}, ms",
        ["interval", "p50", "p95", "p99", "p50 target", ""],
        table,
    )
    print(
        f"  {MODEL} yields its first token at once: delta - chat.created bounds the overhead over the model's "
        f"first token from above (the delta came in the same read as chat.created in "
        f"{first['delta_in_same_read_as_created']}/{first['n']} streams); plait first delta - bare first byte "
        "adds the request's database work."
    )

    table = [
        [
            f"{concurrent['streams']} streamed chats at once, {concurrent['words_per_answer']} deltas each",
            f"{concurrent['wall_s']:.2f}",
            concurrent["errors"],
            f"{concurrent['verified_in_database']}/{concurrent['streams']}",
            f"{concurrent['first_delta']['p50_ms']:.0f} / {concurrent['first_delta']['p99_ms']:.0f}",
            f"{concurrent['stream_done']['p50_ms']:.0f} / {concurrent['stream_done']['p99_ms']:.0f}",
            verdict(concurrent["errors"] == 0 and concurrent["verified_in_database"] == concurrent["streams"]),
        ]
    ]
    print_table(
        f"Concurrent SSE streams, workers={stream_workers}",
        ["workload", "wall s", "errors", "checked in SQLite", "first delta p50/p99 ms", "done p50/p99 ms", "0 errors"],
        table,
    )
    for problem in concurrent["first_errors"]:
        print(f"  error: {problem}")
    targets = hot_path_targets(turns, first, concurrent)
    print_table(
        "The chat hot path's targets",
        ["target", "measured", ""],
        [[target, measured, verdict(passed)] for target, measured, passed in targets],
    )
    for row in turns:
        for problem in row.first_errors:
            print(f"  {row.target} w={row.workers} error: {problem}")
    print(f"load average (1, 5, 15 min) before {load[0]}, after {load[1]}: other work on the machine skews all this")
    written = write_json(
        options.json,
        {
            "benchmark": "server",
            "settings": {
                "clients": options.clients,
                "duration_s": options.duration,
                "warmup_s": options.warmup,
                "workers": options.workers,
                "stream_workers": stream_workers,
                "streams": options.streams,
                "first_n": options.first_n,
                "loadgen_procs": options.loadgen_procs,
                "history": options.history,
                "uvloop": options.uvloop,
                "model": MODEL,
                "pg_workers": options.pg_workers,
                "fd_limits": fd_limits,
            },
            "load_average": {"before": load[0], "after": load[1]},
            "turns": [asdict(row) for row in turns],
            "database_checks": database_checks,
            "first_event": first,
            "concurrent_streams": concurrent,
            "hot_path_targets": [
                {"target": target, "measured": measured, "passed": passed} for target, measured, passed in targets
            ],
            "targets": {
                "turns_per_s": MIN_TURNS_PER_S,
                "p99_ms": MAX_P99_MS,
                "first_event_overhead_p50_ms": MAX_FIRST_EVENT_OVERHEAD_MS,
            },
        },
    )
    print(f"results: {written}")


def hot_path_targets(
    turns: list[Throughput], first: dict[str, Any], concurrent: dict[str, Any]
) -> list[tuple[str, str, bool]]:
    """Each target with what this run measured, for the rows it has (SQLite and PostgreSQL when both ran)."""
    rows = {(row.target, row.workers): row for row in turns}
    checks: list[tuple[str, str, bool]] = []
    plait, bare, floor = rows.get(("plait", 1)), rows.get(("bare", 1)), rows.get(("floor", 1))
    if plait is not None and bare is not None:
        share = plait.turns_per_s / bare.turns_per_s
        beside = f" (FastAPI + the turn's SQL alone: {floor.turns_per_s / bare.turns_per_s:.2f})" if floor else ""
        checks.append(
            (
                f"SQLite, 1 worker: plait/bare ≥ {MIN_SHARE_OF_BARE:g}",
                f"{share:.2f}{beside}",
                share >= MIN_SHARE_OF_BARE,
            )
        )
        checks.append((f"  p99 < {MAX_P99_MS:g} ms", f"{plait.p99_ms:.0f} ms", plait.p99_ms < MAX_P99_MS))
    postgres = rows.get(("plait-pg", 2))
    if plait is not None and postgres is not None:
        ratio = postgres.turns_per_s / plait.turns_per_s
        checks.append(
            (
                f"PostgreSQL, 2 workers ≥ {MIN_POSTGRES_OVER_SQLITE:g}x SQLite, 1 worker",
                f"{ratio:.2f}x ({postgres.turns_per_s:,.0f} / {plait.turns_per_s:,.0f})",
                ratio >= MIN_POSTGRES_OVER_SQLITE,
            )
        )
    over_bare = first["figures"]["plait first delta - bare first byte (paired)"]["p50_ms"]
    checks.append(
        (
            f"first delta - bare first byte, p50 ≤ {MAX_FIRST_DELTA_OVER_BARE_MS:g} ms",
            f"{over_bare:.2f} ms",
            over_bare <= MAX_FIRST_DELTA_OVER_BARE_MS,
        )
    )
    streams, p99 = concurrent["streams"], concurrent["first_delta"]["p99_ms"]
    saved = concurrent["verified_in_database"]
    checks.append(
        (
            f"{streams} streams at once: first delta p99 < {MAX_CONCURRENT_FIRST_DELTA_P99_MS:g} ms, all saved",
            f"{p99:.0f} ms, {saved}/{streams} saved, {concurrent['errors']} errors",
            p99 < MAX_CONCURRENT_FIRST_DELTA_P99_MS and saved == streams and concurrent["errors"] == 0,
        )
    )
    return checks


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients for non-streamed turns")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per server")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before")
    parser.add_argument(
        "--workers",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[1, 2],
        help="worker counts to measure, comma-separated (default 1,2)",
    )
    parser.add_argument(
        "--history",
        type=int,
        default=0,
        help="messages already in each conversation before the turns (a turn loads at most 80: 20 rounds x 4)",
    )
    parser.add_argument(
        "--pg-workers",
        type=lambda text: [int(part) for part in text.split(",") if part],
        default=[2],
        help="worker counts to measure on PostgreSQL (127.0.0.1:5432), comma-separated; empty to skip (default 2)",
    )
    parser.add_argument("--stream-workers", type=int, help="workers for the streaming parts (default: the best)")
    parser.add_argument("--streams", type=int, default=500, help="concurrent SSE streams")
    parser.add_argument("--first-n", type=int, default=200, help="streamed chats for the first-event latency")
    parser.add_argument("--loadgen-procs", type=int, default=1, help="load generator processes")
    parser.add_argument("--no-uvloop", dest="uvloop", action="store_false", help="plain asyncio in the generator")
    parser.add_argument("--quick", action="store_true", help="smoke run: 3 s + 1 s warm-up, 50 streams, n=40")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"results file (default {DEFAULT_JSON})")
    options = parser.parse_args()
    if options.quick:
        options.duration, options.warmup, options.streams, options.first_n = 3.0, 1.0, 50, 40
    if options.uvloop:
        try:
            import uvloop  # noqa: F401
        except ImportError:
            options.uvloop = False
    run(options)


if __name__ == "__main__":
    main()
