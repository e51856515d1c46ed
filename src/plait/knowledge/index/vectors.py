"""Vector stores: the ``VectorStore`` protocol, and the embedded default that searches exactly with numpy.

Every store keeps unit vectors and scores by cosine similarity, and searches exactly unless told otherwise, so the
embedded store, pgvector and Milvus return the same ranking for the same data.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np
import numpy.typing as npt

from plait.knowledge.errors import IndexStoreError
from plait.knowledge.index._storage import check_json, fresh_name, read_manifest, remove_stale, write_manifest
from plait.knowledge.index.filters import Condition, MetadataMasks, parse_filters
from plait.schema import Document

Vectors = Sequence[Sequence[float]] | npt.NDArray[np.floating[Any]]
Vector = Sequence[float] | npt.NDArray[np.floating[Any]]
Matrix = npt.NDArray[np.float32]
T = TypeVar("T")

MANIFEST = "store.json"
KIND = "plait-exact-vector-store"
VERSION = 1


@runtime_checkable
class VectorStore(Protocol):
    """Vectors with the content and metadata of their chunk, searched by cosine similarity (the score)."""

    dimension: int

    async def upsert(
        self,
        ids: Sequence[str],
        vectors: Vectors,
        *,
        contents: Sequence[str] | None = None,
        metadata: Sequence[Mapping[str, Any]] | None = None,
    ) -> None: ...

    async def delete(self, ids: Sequence[str]) -> None: ...

    async def search(
        self, vector: Vector, top_k: int = 10, filters: Mapping[str, Any] | None = None
    ) -> list[Document]: ...

    async def count(self) -> int: ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Batch:
    """An upsert, checked: unique ids, unit float32 vectors of the store's dimension, contents and metadata."""

    ids: list[str]
    vectors: Matrix
    contents: list[str]
    metadata: list[dict[str, Any]]


def check_dimension(dimension: int) -> None:
    if dimension <= 0:
        raise ValueError(f"dimension must be positive, got {dimension}")


def unit_rows(vectors: Vectors | Vector, dimension: int, what: str) -> Matrix:
    """``vectors`` as unit-length float32 rows; IndexStoreError for a wrong dimension, zero or non-finite vector."""
    try:
        matrix = np.array(vectors, dtype=np.float32, ndmin=2)
    except (TypeError, ValueError) as error:
        raise IndexStoreError(f"{what} is not a list of numbers of one length: {error}") from error
    if matrix.ndim != 2 or matrix.shape[1] != dimension:
        got = matrix.shape[1] if matrix.ndim == 2 else f"shape {matrix.shape}"
        raise IndexStoreError(f"{what} has dimension {got}, this store holds vectors of {dimension}")
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    if not np.all(np.isfinite(norms)) or np.any(norms == 0):
        raise IndexStoreError(f"{what} contains a zero or non-finite vector, which has no cosine similarity")
    matrix /= norms
    return matrix


def query_vector(vector: Vector, dimension: int) -> npt.NDArray[np.float32]:
    """A query as one unit float32 vector of the store's dimension."""
    if np.ndim(vector) != 1:
        raise IndexStoreError(f"a query vector must be one-dimensional, got shape {np.shape(vector)}")
    return unit_rows(vector, dimension, "the query vector").reshape(dimension)


def make_batch(
    ids: Sequence[str],
    vectors: Vectors,
    contents: Sequence[str] | None,
    metadata: Sequence[Mapping[str, Any]] | None,
    dimension: int,
) -> Batch:
    ids = list(ids)
    matrix = unit_rows(vectors, dimension, "an upserted vector") if ids else np.empty((0, dimension), np.float32)
    contents = list(contents) if contents is not None else [""] * len(ids)
    rows = [dict(item) for item in metadata] if metadata is not None else [{} for _ in ids]
    if not len(ids) == len(matrix) == len(contents) == len(rows):
        raise IndexStoreError(
            f"upsert got {len(ids)} ids, {len(matrix)} vectors, {len(contents)} contents, {len(rows)} metadata"
        )
    if not all(isinstance(doc_id, str) and doc_id for doc_id in ids) or len(set(ids)) != len(ids):
        raise IndexStoreError("upsert ids must be unique non-empty strings")
    check_json(rows, "upsert")
    return Batch(ids, matrix, contents, rows)


class ExactVectorStore:
    """The embedded store: a float32 matrix in memory, searched exactly (one matrix-vector product per query).

    With a ``path`` it opens the store saved there (on first use) and saves after every change: a ``.npy`` of the
    vectors and a JSON manifest of ids, contents and metadata, replaced atomically. Work runs in a thread under a
    lock, so the event loop never waits on numpy or the disk.
    """

    def __init__(self, path: str | Path | None = None, *, dimension: int) -> None:
        check_dimension(dimension)
        self.dimension = dimension
        self.path = Path(path) if path is not None else None
        self._matrix: Matrix = np.empty((0, dimension), dtype=np.float32)  # rows past len(self._ids) are spare
        self._ids: list[str] = []
        self._rows: dict[str, int] = {}
        self._contents: list[str] = []
        self._metadata: list[dict[str, Any]] = []
        self._masks: MetadataMasks | None = None
        self._loaded = self.path is None
        self._lock = threading.Lock()

    async def upsert(
        self,
        ids: Sequence[str],
        vectors: Vectors,
        *,
        contents: Sequence[str] | None = None,
        metadata: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        batch = make_batch(ids, vectors, contents, metadata, self.dimension)
        if batch.ids:
            await self._run(self._upsert, batch)

    async def delete(self, ids: Sequence[str]) -> None:
        await self._run(self._delete, list(ids))

    async def search(self, vector: Vector, top_k: int = 10, filters: Mapping[str, Any] | None = None) -> list[Document]:
        query = query_vector(vector, self.dimension)
        conditions = parse_filters(filters)
        return await self._run(self._search, query, top_k, conditions)

    async def count(self) -> int:
        return await self._run(lambda: len(self._ids))

    async def close(self) -> None:
        """Nothing to release: every change is already on disk."""

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(self._locked, function, *args)

    def _locked(self, function: Callable[..., T], *args: Any) -> T:
        with self._lock:
            if not self._loaded:
                self._load()
                self._loaded = True
            return function(*args)

    def _upsert(self, batch: Batch) -> None:
        size = len(self._ids)
        needed = size + sum(doc_id not in self._rows for doc_id in batch.ids)
        if needed > len(self._matrix):
            grown = np.empty((max(needed, 2 * len(self._matrix)), self.dimension), dtype=np.float32)
            grown[:size] = self._matrix[:size]
            self._matrix = grown
        rows = np.empty(len(batch.ids), dtype=np.intp)
        for i, doc_id in enumerate(batch.ids):
            row = self._rows.get(doc_id)
            if row is None:
                row = self._rows[doc_id] = len(self._ids)
                self._ids.append(doc_id)
                self._contents.append(batch.contents[i])
                self._metadata.append(batch.metadata[i])
            else:
                self._contents[row], self._metadata[row] = batch.contents[i], batch.metadata[i]
            rows[i] = row
        self._matrix[rows] = batch.vectors
        self._changed()

    def _delete(self, ids: list[str]) -> None:
        removed = False
        for doc_id in ids:
            row = self._rows.pop(doc_id, None)
            if row is None:
                continue
            removed = True
            last = len(self._ids) - 1
            if row != last:  # move the last row into the hole
                self._matrix[row] = self._matrix[last]
                self._ids[row], self._contents[row], self._metadata[row] = (
                    self._ids[last],
                    self._contents[last],
                    self._metadata[last],
                )
                self._rows[self._ids[row]] = row
            del self._ids[last], self._contents[last], self._metadata[last]
        if removed:
            self._changed()

    def _search(self, query: npt.NDArray[np.float32], top_k: int, conditions: list[Condition]) -> list[Document]:
        size = len(self._ids)
        if top_k <= 0 or size == 0:
            return []
        scores = self._matrix[:size] @ query  # the whole cost: one pass over the matrix
        if self._masks is None:
            self._masks = MetadataMasks(self._metadata)
        mask = self._masks.mask(conditions)
        allowed = None if mask is None else np.flatnonzero(mask)
        pool = scores if allowed is None else scores[allowed]
        best = np.argpartition(-pool, top_k - 1)[:top_k] if len(pool) > top_k else np.arange(len(pool))
        best = best[np.lexsort((best, -pool[best]))]
        rows = best if allowed is None else allowed[best]
        return [
            Document(id=self._ids[row], content=self._contents[row], metadata=dict(self._metadata[row]), score=score)
            for row, score in zip(rows.tolist(), scores[rows].tolist(), strict=True)
        ]

    def _changed(self) -> None:
        self._masks = None
        if self.path is None:
            return
        name = fresh_name("vectors", ".npy")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            with (self.path / name).open("wb") as file:
                np.save(file, self._matrix[: len(self._ids)], allow_pickle=False)
                file.flush()
                os.fsync(file.fileno())
        except OSError as error:
            raise IndexStoreError(f"could not write the vector store at {self.path}: {error}") from error
        manifest = {"kind": KIND, "version": VERSION, "dimension": self.dimension, "vectors": name}
        records = {"ids": self._ids, "contents": self._contents, "metadata": self._metadata}
        write_manifest(self.path / MANIFEST, {**manifest, **records})
        remove_stale(self.path, "vectors", keep=name)

    def _load(self) -> None:
        assert self.path is not None
        if not (self.path / MANIFEST).exists():
            return  # a new store: created by its first change
        manifest = read_manifest(self.path / MANIFEST, KIND, VERSION)
        if manifest.get("dimension") != self.dimension:
            raise IndexStoreError(
                f"the vector store at {self.path} holds vectors of {manifest.get('dimension')}, not {self.dimension}"
            )
        try:
            matrix = np.load(self.path / manifest["vectors"], allow_pickle=False)
            ids, contents, metadata = list(manifest["ids"]), list(manifest["contents"]), list(manifest["metadata"])
        except (OSError, EOFError, KeyError, TypeError, ValueError) as error:
            raise IndexStoreError(f"the vector store at {self.path} is corrupt: {error!r}") from error
        if (
            matrix.dtype != np.float32
            or matrix.shape != (len(ids), self.dimension)
            or not (len(ids) == len(contents) == len(metadata) == len(set(ids)))
        ):
            raise IndexStoreError(f"the vector store at {self.path} is corrupt: its vectors and records disagree")
        self._matrix, self._ids, self._contents, self._metadata = matrix, ids, contents, metadata
        self._rows = {doc_id: row for row, doc_id in enumerate(ids)}
