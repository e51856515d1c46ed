"""Milvus through pymilvus' ``MilvusClient``: a server URI, or a milvus-lite file (``.../milvus.db``) embedded.

The collection uses the COSINE metric and a FLAT (exact) index, so rankings equal the other stores'. Metadata is a
JSON field; filters become boolean expressions on it (and on a copy of its booleans, see ``_equals``). pymilvus is
synchronous, so every call runs in a thread. Needs the ``milvus`` extra (pymilvus, milvus-lite).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from plait.knowledge.errors import IndexStoreError
from plait.knowledge.index.filters import Condition, Scalar, parse_filters
from plait.knowledge.index.vectors import Vector, Vectors, check_dimension, make_batch, query_vector
from plait.schema import Document

if TYPE_CHECKING:
    from pymilvus import MilvusClient  # type: ignore[import-untyped]

T = TypeVar("T")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")
MAX_ID_LENGTH = 512
MAX_CONTENT_LENGTH = 65_535  # bytes of UTF-8: Milvus' largest VARCHAR
BATCH = 1_000
FIELDS = ["content", "metadata"]


ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def _quoted(text: str) -> str:
    """A Milvus string literal. It knows C-style escapes but not JSON's \\u ones, so json.dumps will not do."""
    return f'"{text.translate(ESCAPES)}"'


def _equals(key: str, value: Scalar) -> str:
    """Milvus compares JSON booleans as the numbers 0 and 1, so booleans are also kept, alone, in ``booleans``."""
    path = _quoted(key)
    if isinstance(value, bool):
        return f"booleans[{path}] == {'true' if value else 'false'}"
    if isinstance(value, str):
        return f"metadata[{path}] == {_quoted(value)}"
    return f"(metadata[{path}] == {value!r} and not exists booleans[{path}])"


def milvus_expression(conditions: Sequence[Condition]) -> str:
    """A Milvus boolean expression for the filters; every condition must list at least one value."""
    return " and ".join(f"({' or '.join(_equals(c.key, value) for value in c.values)})" for c in conditions)


class MilvusStore:
    """A VectorStore in a Milvus collection, created on first use."""

    def __init__(self, uri: str, collection: str, dimension: int, *, token: str = "") -> None:
        if not NAME.fullmatch(collection):
            raise ValueError(f"collection name {collection!r} must be letters, digits and _, not starting with a digit")
        check_dimension(dimension)
        self.uri, self.collection, self.dimension, self._token = uri, collection, dimension, token
        self._client: MilvusClient | None = None
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
        rows = [
            {
                "id": doc_id,
                "vector": vector,
                "content": content,
                "metadata": meta,
                "booleans": {key: value for key, value in meta.items() if isinstance(value, bool)},
            }
            for doc_id, vector, content, meta in zip(
                batch.ids, batch.vectors.tolist(), batch.contents, batch.metadata, strict=True
            )
        ]
        for row in rows:
            if len(row["id"].encode()) > MAX_ID_LENGTH or len(row["content"].encode()) > MAX_CONTENT_LENGTH:
                raise IndexStoreError(
                    f"{row['id'][:80]!r}: Milvus keeps ids up to {MAX_ID_LENGTH} and contents up to "
                    f"{MAX_CONTENT_LENGTH} bytes"
                )
        for start in range(0, len(rows), BATCH):
            chunk = rows[start : start + BATCH]
            await self._call(lambda client: client.upsert(self.collection, data=chunk))  # noqa: B023 (awaited here)

    async def delete(self, ids: Sequence[str]) -> None:
        ids = list(ids)
        if ids:
            await self._call(lambda client: client.delete(self.collection, ids=ids))

    async def search(self, vector: Vector, top_k: int = 10, filters: Mapping[str, Any] | None = None) -> list[Document]:
        query = query_vector(vector, self.dimension).tolist()
        conditions = parse_filters(filters)
        if top_k <= 0 or any(not condition.values for condition in conditions):
            return []  # an empty '$in' matches nothing, and Milvus has no literal for that
        expression = milvus_expression(conditions)
        hits = await self._call(
            lambda client: client.search(
                self.collection,
                data=[query],
                limit=top_k,
                filter=expression,
                output_fields=FIELDS,
                search_params={"metric_type": "COSINE"},
            )
        )
        return [
            Document(
                id=hit["id"],
                content=hit["entity"]["content"],
                metadata=dict(hit["entity"]["metadata"] or {}),
                score=float(hit["distance"]),
            )
            for hit in hits[0]
        ]

    async def count(self) -> int:
        rows = await self._call(lambda client: client.query(self.collection, filter="", output_fields=["count(*)"]))
        return int(rows[0]["count(*)"])

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await asyncio.to_thread(client.close)

    async def _call(self, work: Callable[[MilvusClient], T]) -> T:
        from pymilvus import MilvusException

        try:
            client = await self._open()
            return await asyncio.to_thread(work, client)
        except MilvusException as error:
            raise IndexStoreError(f"Milvus collection {self.collection}: {error}") from error

    async def _open(self) -> MilvusClient:
        async with self._opening:
            if self._client is None:
                self._client = await asyncio.to_thread(self._connect)
            return self._client

    def _connect(self) -> MilvusClient:
        """Connect and create the collection if missing; refuse one of another dimension."""
        from pymilvus import DataType, MilvusClient

        client = MilvusClient(self.uri, token=self._token)
        try:
            if client.has_collection(self.collection):
                fields = client.describe_collection(self.collection)["fields"]
                existing = next((f["params"].get("dim") for f in fields if f["name"] == "vector"), None)
                if existing is None or int(existing) != self.dimension:
                    raise IndexStoreError(
                        f"Milvus collection {self.collection} holds vectors of {existing}, not {self.dimension}"
                    )
                return client
            schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
            schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=MAX_ID_LENGTH)
            schema.add_field("vector", DataType.FLOAT_VECTOR, dim=self.dimension)
            schema.add_field("content", DataType.VARCHAR, max_length=MAX_CONTENT_LENGTH)
            schema.add_field("metadata", DataType.JSON)
            schema.add_field("booleans", DataType.JSON)
            index = client.prepare_index_params()
            index.add_index(field_name="vector", index_type="FLAT", metric_type="COSINE")
            client.create_collection(self.collection, schema=schema, index_params=index, consistency_level="Strong")
        except BaseException:
            client.close()
            raise
        return client
