"""pgvector on PostgreSQL: one table per knowledge base, metadata as JSONB, searched by cosine distance.

Search is exact by default (no ANN index), so results equal the embedded store's; ``hnsw=True`` adds an HNSW index
for large tables, trading exactness for speed. Needs the ``postgres`` extra (asyncpg, pgvector).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from plait.knowledge.errors import IndexStoreError
from plait.knowledge.index.filters import Condition, parse_filters
from plait.knowledge.index.vectors import Vector, Vectors, check_dimension, make_batch, query_vector
from plait.schema import Document

if TYPE_CHECKING:
    import asyncpg  # type: ignore[import-untyped]

T = TypeVar("T")
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
HNSW_MAX_EF_SEARCH = 1000


def where_clause(conditions: Sequence[Condition], first_parameter: int) -> tuple[str, list[Any]]:
    """SQL for the filters (``metadata -> key = ANY(values)`` per key, JSONB equality) and its parameters."""
    clauses: list[str] = []
    parameters: list[Any] = []
    for condition in conditions:
        key, values = first_parameter + len(parameters), first_parameter + len(parameters) + 1
        clauses.append(f"metadata -> ${key} = ANY(${values}::jsonb[])")
        parameters += [condition.key, [json.dumps(value) for value in condition.values]]
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), parameters


def search_sql(table: str, where: str, *, hnsw: bool) -> str:
    """The nearest rows to ``$1``, at most ``$2``; exact search breaks ties by id, as the embedded store does.

    An HNSW search orders by distance alone: PostgreSQL 15 serves no ``ORDER BY distance, id`` from the index
    (18 sorts the index's rows by id on top) and would scan the whole table instead.
    """
    order = "embedding <=> $1" if hnsw else "embedding <=> $1, id"
    return (
        f'SELECT id, content, metadata::text AS metadata, 1 - (embedding <=> $1) AS score FROM "{table}"'
        f"{where} ORDER BY {order} LIMIT $2"
    )


class PgVectorStore:
    """A VectorStore in a PostgreSQL table; the extension, table and index are created on first use."""

    def __init__(self, dsn: str, table: str, dimension: int, *, hnsw: bool = False, pool_size: int = 4) -> None:
        if not IDENTIFIER.fullmatch(table):
            raise ValueError(f"table name {table!r} must be a plain SQL identifier (letters, digits, _)")
        check_dimension(dimension)
        self.dsn, self.table, self.dimension, self.hnsw, self.pool_size = dsn, table, dimension, hnsw, pool_size
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    async def upsert(
        self,
        ids: Sequence[str],
        vectors: Vectors,
        *,
        contents: Sequence[str] | None = None,
        metadata: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        batch = make_batch(ids, vectors, contents, metadata, self.dimension)
        documents = zip(batch.ids, batch.contents, batch.metadata, batch.vectors, strict=True)
        rows = [(doc_id, content, json.dumps(meta), vector) for doc_id, content, meta, vector in documents]
        sql = (
            f'INSERT INTO "{self.table}" (id, content, metadata, embedding) VALUES ($1, $2, $3::jsonb, $4) '
            "ON CONFLICT (id) DO UPDATE SET content = EXCLUDED.content, metadata = EXCLUDED.metadata, "
            "embedding = EXCLUDED.embedding"
        )

        async def write(connection: asyncpg.Connection) -> None:
            async with connection.transaction():
                await connection.executemany(sql, rows)

        if rows:
            await self._with_connection(write)

    async def delete(self, ids: Sequence[str]) -> None:
        ids = list(ids)
        if ids:
            sql = f'DELETE FROM "{self.table}" WHERE id = ANY($1::text[])'
            await self._with_connection(lambda connection: connection.execute(sql, ids))

    async def search(self, vector: Vector, top_k: int = 10, filters: Mapping[str, Any] | None = None) -> list[Document]:
        query = query_vector(vector, self.dimension)
        where, parameters = where_clause(parse_filters(filters), 3)
        if top_k <= 0:
            return []
        sql = search_sql(self.table, where, hnsw=self.hnsw)

        async def read(connection: asyncpg.Connection) -> list[Any]:
            if not self.hnsw:
                return list(await connection.fetch(sql, query, top_k, *parameters))
            # An HNSW scan yields ef_search rows, then stops; an iterative scan goes on while filters drop rows.
            ef_search = max(40, min(top_k, HNSW_MAX_EF_SEARCH))
            async with connection.transaction():
                await connection.execute(
                    f"SET LOCAL hnsw.ef_search = {ef_search}; SET LOCAL hnsw.iterative_scan = strict_order"
                )
                return list(await connection.fetch(sql, query, top_k, *parameters))

        records = await self._with_connection(read)
        return [
            Document(id=r["id"], content=r["content"], metadata=json.loads(r["metadata"]), score=float(r["score"]))
            for r in records
        ]

    async def count(self) -> int:
        sql = f'SELECT count(*) FROM "{self.table}"'
        return int(await self._with_connection(lambda connection: connection.fetchval(sql)))

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    async def _with_connection(self, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        import asyncpg

        try:
            pool = await self._open()
            async with pool.acquire() as connection:
                return await work(connection)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as error:
            raise IndexStoreError(f"pgvector table {self.table}: {error}") from error

    async def _open(self) -> asyncpg.Pool:
        async with self._opening:
            if self._pool is None:
                import asyncpg
                from pgvector.asyncpg import register_vector

                connection = await asyncpg.connect(self.dsn)
                try:
                    await self._create(connection)
                finally:
                    await connection.close()
                self._pool = await asyncpg.create_pool(
                    self.dsn, min_size=1, max_size=self.pool_size, init=register_vector
                )
            return self._pool

    async def _create(self, connection: asyncpg.Connection) -> None:
        """Create the extension, table and index if missing; refuse a table of another dimension."""
        await connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
        await connection.execute(
            f'CREATE TABLE IF NOT EXISTS "{self.table}" (id text PRIMARY KEY, content text NOT NULL, '
            f"metadata jsonb NOT NULL, embedding vector({self.dimension}) NOT NULL)"
        )
        existing = await connection.fetchval(
            "SELECT atttypmod FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'embedding'",
            f'"{self.table}"',
        )
        if existing != self.dimension:
            raise IndexStoreError(f"table {self.table} holds vectors of {existing}, not {self.dimension}")
        if self.hnsw:
            await connection.execute(
                f'CREATE INDEX IF NOT EXISTS "{self.table}_embedding_hnsw" ON "{self.table}" '
                "USING hnsw (embedding vector_cosine_ops)"
            )
