"""Async engines and sessions (SQLite with WAL, busy timeout and foreign keys; PostgreSQL via asyncpg), and
the unit of work: one session, one transaction, the repositories that share it.

    async with UnitOfWork(sessions) as uow:
        bot = await uow.bots.get(workspace_id, bot_id)
        ...
    # committed here; rolled back instead if the block raised

Repositories never commit; the use case that opened the unit of work decides where a transaction ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, ClassVar, Generic, TypeVar, cast, overload

import orjson
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

from plait.store.base import Base
from plait.store.group_commit import GroupWriter
from plait.store.repositories import (
    ApiKeyRepository,
    AuditRepository,
    BotRepository,
    BotVersionRepository,
    ChatRepository,
    ChunkRepository,
    ConversationRepository,
    DatasetRepository,
    DocumentRepository,
    FileRepository,
    MessageRepository,
    ModelConfigRepository,
    PluginRepository,
    SecretRepository,
    SectionRepository,
    SessionRepository,
    SummaryRepository,
    UserRepository,
    UserVariableRepository,
    WorkerRepository,
    WorkflowNodeRunRepository,
    WorkflowRepository,
    WorkflowRunRepository,
    WorkflowVersionRepository,
    WorkspaceRepository,
)
from plait.store.sqlite_loop import LoopConnection, loop_connector
from plait.store.write_lock import SQLITE_BUSY_TIMEOUT_MS, acquire_write_lock

log = logging.getLogger(__name__)
POOL_SIZE = 30  # PostgreSQL connections a process opens at most, and keeps (PLAIT_DATABASE_POOL_SIZE)
POOL_TIMEOUT_SECONDS = 30.0  # how long a checkout waits for one of them (PLAIT_DATABASE_POOL_TIMEOUT_SECONDS)


class DatabaseBusy(Exception):
    """No pooled connection came free within the pool's timeout: the process serves more than its connections
    can. Waiting longer would only queue more requests behind it."""


class _BusyPool(AsyncAdaptedQueuePool):
    """SQLAlchemy's pool, whose checkout timeout says what it means (``DatabaseBusy``)."""

    def _do_get(self) -> Any:
        try:
            return super()._do_get()
        except PoolTimeoutError as error:
            raise DatabaseBusy(f"no database connection came free within {self.timeout():g} s") from error


def create_engine(
    database_url: str, *, pool_size: int = POOL_SIZE, pool_timeout: float = POOL_TIMEOUT_SECONDS, **kwargs: Any
) -> AsyncEngine:
    """An engine for ``database_url``; SQLite connections get the pragmas the platform relies on, PostgreSQL's
    pool holds at most ``pool_size`` connections and a checkout waits ``pool_timeout`` s for one."""
    if database_url.startswith("sqlite"):
        # A session ends its transaction (commit or rollback) before it gives its connection back, and so does
        # a connection closed with one open: the pool's own reset would be one more ROLLBACK on every unit of
        # work.
        kwargs.setdefault("pool_reset_on_return", None)
        # Statements run on the loop's thread (see sqlite_loop), which waits for other processes' write locks
        # without SQLite's busy handler.
        database = make_url(database_url).database or ":memory:"
        kwargs.setdefault("async_creator", loop_connector(database, busy_seconds=SQLITE_BUSY_TIMEOUT_MS / 1000))
    else:
        # A chat request holds a connection while it reads, and under load more of them read at once than
        # SQLAlchemy's default pool keeps (5). A connection past the pool's size (its overflow) is closed when it
        # comes back and opened again for the next request: a fork of a PostgreSQL backend, authentication and
        # statements prepared again, which cost a fifth of a turn. So the pool has no overflow: it opens up to
        # pool_size connections as they are needed, keeps them, and a request past them waits for one.
        kwargs.setdefault("pool_size", pool_size)
        kwargs.setdefault("max_overflow", 0)
        kwargs.setdefault("poolclass", _BusyPool)
        kwargs.setdefault("pool_timeout", pool_timeout)
    kwargs.setdefault("json_serializer", _json_dumps)
    kwargs.setdefault("json_deserializer", orjson.loads)
    engine = create_async_engine(database_url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _json_dumps(value: Any) -> str:
    """JSON columns through orjson: a chat turn reads and writes a few dozen of them."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Cascading deletes need foreign keys, which SQLite leaves off per connection; WAL lets readers run while
    # a chat writes, and a second writer waits instead of failing at once: in sqlite_loop's retries for the
    # loop's connections, in SQLite's busy handler for others. synchronous=NORMAL: in WAL mode a commit survives
    # a crash of the process (kill -9 included); only an OS crash or power cut may lose the last commits.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    busy_ms = 0 if isinstance(dbapi_connection.driver_connection, LoopConnection) else SQLITE_BUSY_TIMEOUT_MS
    cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded rows usable after commit (the API renders them after the unit of work ends);
    on SQLite, sessions whose writes queue on one lock per engine (see ``SQLiteSession``)."""
    if engine.dialect.name != "sqlite":
        return async_sessionmaker(engine, expire_on_commit=False)
    session_class = type("EngineSQLiteSession", (SQLiteSession,), {"write_lock": asyncio.Lock()})
    return async_sessionmaker(engine, expire_on_commit=False, class_=session_class)


class SQLiteSession(AsyncSession):
    """SQLite lets one transaction write at a time, and a second writer sleeps in its busy handler (1, 2, 5 ...
    up to 100 ms a try) until the first commits: under load that sleep, not the work, sets the latency. So the
    writers of one process queue on an asyncio lock instead, held from a transaction's first write to its end;
    only writers of other processes still meet the busy handler (and ``acquire_write_lock`` says how long one
    waits)."""

    write_lock: ClassVar[asyncio.Lock]
    _writing = False

    async def _claim(self, statement: Any = None) -> None:
        if self._writing:
            return
        sync = self.sync_session
        if not (sync.new or sync.dirty or sync.deleted or getattr(statement, "is_dml", False)):
            return
        await self.connection()  # first: a lock holder must never wait for the pool, whose connections wait for it
        await acquire_write_lock(self.write_lock)
        self._writing = True

    def _release(self) -> None:
        if self._writing:
            self._writing = False
            self.write_lock.release()

    async def execute(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
        await self._claim(statement)
        return await super().execute(statement, *args, **kwargs)

    async def get(self, *args: Any, **kwargs: Any) -> Any:
        await self._claim()
        return await super().get(*args, **kwargs)

    async def flush(self, objects: Any = None) -> None:
        await self._claim()
        await super().flush(objects)

    async def commit(self) -> None:
        await self._claim()
        try:
            await super().commit()
        finally:
            self._release()

    async def rollback(self) -> None:
        try:
            await super().rollback()
        finally:
            self._release()

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            self._release()


class Database:
    """One database as a process holds it: the engine (its connection pool) and the sessions units of work
    open. Open once per process and URL; ``dispose`` closes the pool."""

    def __init__(self, url: str, **engine_options: Any) -> None:
        self.engine = create_engine(url, **engine_options)
        self.sessions = session_factory(self.engine)
        self.writer = GroupWriter(self.engine, getattr(self.sessions.class_, "write_lock", None))

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self.sessions)

    async def dispose(self) -> None:
        await self.engine.dispose()


TransientError = DBAPIError  # what a use case may retry: the database refused or dropped the statement
ConflictError = IntegrityError  # a constraint refused the write: a row it refers to is gone, or a key is taken


AfterCommit = Callable[[], Awaitable[None]]


R = TypeVar("R")


class _Repository(Generic[R]):
    """A unit of work's repository of one kind, made on first access and kept for the unit of work."""

    def __init__(self, kind: Callable[[AsyncSession], R]) -> None:
        self.kind = kind

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, uow: None, owner: type) -> _Repository[R]: ...
    @overload
    def __get__(self, uow: UnitOfWork, owner: type) -> R: ...
    def __get__(self, uow: UnitOfWork | None, owner: type) -> R | _Repository[R]:
        if uow is None:
            return self
        made = uow.repositories.get(self.name)
        if made is None:
            made = uow.repositories[self.name] = self.kind(uow.session)
        return cast(R, made)


class UnitOfWork:
    """One session, one transaction, and the repositories that share it (each made on first use: a unit of
    work of a chat turn touches two or three of the twenty-odd)."""

    workspaces = _Repository(WorkspaceRepository)
    users = _Repository(UserRepository)
    api_keys = _Repository(ApiKeyRepository)
    model_configs = _Repository(ModelConfigRepository)
    bots = _Repository(BotRepository)
    bot_versions = _Repository(BotVersionRepository)
    conversations = _Repository(ConversationRepository)
    sections = _Repository(SectionRepository)
    messages = _Repository(MessageRepository)
    chats = _Repository(ChatRepository)
    files = _Repository(FileRepository)
    datasets = _Repository(DatasetRepository)
    documents = _Repository(DocumentRepository)
    chunks = _Repository(ChunkRepository)
    workers = _Repository(WorkerRepository)
    plugins = _Repository(PluginRepository)
    secrets = _Repository(SecretRepository)
    summaries = _Repository(SummaryRepository)
    user_variables = _Repository(UserVariableRepository)
    user_sessions = _Repository(SessionRepository)
    workflows = _Repository(WorkflowRepository)
    workflow_versions = _Repository(WorkflowVersionRepository)
    workflow_runs = _Repository(WorkflowRunRepository)
    workflow_node_runs = _Repository(WorkflowNodeRunRepository)
    audit = _Repository(AuditRepository)

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._after_commit: list[AfterCommit] = []

    @property
    def session(self) -> AsyncSession:
        return self._session

    async def __aenter__(self) -> UnitOfWork:
        self._session = self._sessions()
        self.repositories: dict[str, object] = {}  # of this session: a unit of work entered again starts anew
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if exc_type is None:
                await self._session.commit()
            else:
                self._after_commit.clear()
                await self._session.rollback()
        finally:
            await self._session.close()
        await self._run_after_commit()

    async def commit(self) -> None:
        """End the transaction here (so other sessions see its writes) and go on in a new one. Rows loaded so
        far are let go: another task may change them now (a chat's run), and no later commit writes them."""
        await self._session.commit()
        self._session.expunge_all()
        await self._run_after_commit()

    def after_commit(self, hook: AfterCommit) -> None:
        """Run ``hook`` once the transaction commits (never if it rolls back): work that must only see committed
        rows, such as a job that reads them. Hooks run in order; one that raises does not stop the others."""
        self._after_commit.append(hook)

    async def _run_after_commit(self) -> None:
        hooks, self._after_commit = self._after_commit, []
        for hook in hooks:
            try:
                await hook()
            except Exception:
                log.exception("an after-commit hook failed")

    def add_new(self, *rows: Base) -> None:
        """Register new rows, written when the unit of work commits (no round trip before then)."""
        self._session.add_all(rows)

    async def flush(self) -> None:
        """Send pending writes now (to get constraint errors early) without ending the transaction."""
        await self._session.flush()
