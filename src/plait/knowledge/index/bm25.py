"""The BM25 keyword index of a knowledge base, on bm25s.

bm25s builds a static sparse matrix of precomputed term scores, so a query is a few numpy sums over posting
lists. Changes mark the index dirty and the matrix is rebuilt from the stored tokens at the next search (the
analyzer, the slow part, runs once per document, at ``add``). Searches read an immutable snapshot, so they need
no lock and may run in threads next to writers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from plait.knowledge.errors import IndexStoreError
from plait.knowledge.index._storage import check_json, fresh_name, read_manifest, remove_stale, write_manifest
from plait.knowledge.index.filters import MetadataMasks, parse_filters
from plait.schema import Document

Analyzer = Callable[[str], list[str]]

# Methods under which a document sharing no term with the query scores exactly 0, so "matched" is "score > 0".
# (bm25l and bm25+ give every document a non-occurrence score.)
METHODS = ("lucene", "robertson", "atire")
MANIFEST = "index.json"
KIND = "plait-bm25-index"
VERSION = 1


@dataclass(frozen=True, slots=True)
class _Entry:
    content: str
    metadata: dict[str, Any]
    tokens: list[str]


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """What searches read: built after a change and never mutated. ``model`` is None when nothing is indexed."""

    model: Any
    ids: list[str]
    entries: list[_Entry]
    masks: MetadataMasks


def _default_analyzer() -> Analyzer:
    from plait.nlu import Analyzer

    return Analyzer()


class BM25Index:
    """Documents indexed by their analyzed terms; ``search`` returns the best matches with their BM25 scores.

    Documents sharing no term with the query are never returned. Persist with :meth:`save` and :meth:`load`; the
    analyzer is not saved, so load with the one the index was built with.
    """

    def __init__(
        self, analyzer: Analyzer | None = None, *, k1: float = 1.5, b: float = 0.75, method: str = "lucene"
    ) -> None:
        if method not in METHODS:
            raise ValueError(f"unknown BM25 method {method!r}; choose one of {', '.join(METHODS)}")
        self.analyzer = analyzer if analyzer is not None else _default_analyzer()
        self.k1, self.b, self.method = k1, b, method
        self._entries: dict[str, _Entry] = {}
        self._snapshot: _Snapshot | None = None
        self._lock = threading.Lock()
        self._saving = threading.Lock()  # one save at a time: each removes the files the others wrote

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, documents: Iterable[Document]) -> None:
        """Index documents, replacing those with the same id; they become searchable at the next search."""
        analyzed = []
        for document in documents:
            if not document.id:
                raise IndexStoreError("a document needs an id to be indexed")
            check_json(document.metadata, f"document {document.id!r}")
            tokens = list(self.analyzer(document.content))
            analyzed.append((document.id, _Entry(document.content, dict(document.metadata), tokens)))
        with self._lock:
            for doc_id, entry in analyzed:
                self._entries.pop(doc_id, None)
                self._entries[doc_id] = entry
            if analyzed:
                self._snapshot = None

    def delete(self, ids: Iterable[str]) -> int:
        """Remove documents by id; unknown ids are ignored. Returns how many were removed."""
        with self._lock:
            removed = sum(self._entries.pop(doc_id, None) is not None for doc_id in ids)
            if removed:
                self._snapshot = None
        return removed

    def search(self, query: str, top_k: int = 10, filters: Mapping[str, Any] | None = None) -> list[Document]:
        """The ``top_k`` best documents for ``query`` among those matching ``filters``, best first."""
        conditions = parse_filters(filters)
        snapshot = self._current()
        if snapshot.model is None or top_k <= 0:
            return []
        vocabulary: dict[str, int] = snapshot.model.vocab_dict
        term_ids = [vocabulary[term] for term in self.analyzer(query) if term in vocabulary]
        if not term_ids:
            return []
        scores = snapshot.model.get_scores_from_ids(term_ids)  # a fresh array, ours to change
        mask = snapshot.masks.mask(conditions)
        if mask is not None:
            scores[~mask] = 0.0
        rows = np.flatnonzero(scores > 0)
        if len(rows) > top_k:
            rows = rows[np.argpartition(-scores[rows], top_k - 1)[:top_k]]
        rows = rows[np.lexsort((rows, -scores[rows]))]  # best first; ties in indexing order
        return [
            Document(
                id=snapshot.ids[row],
                content=snapshot.entries[row].content,
                metadata=dict(snapshot.entries[row].metadata),
                score=float(scores[row]),
            )
            for row in rows.tolist()
        ]

    def _current(self) -> _Snapshot:
        snapshot = self._snapshot
        if snapshot is None:
            with self._lock:
                if self._snapshot is None:
                    self._snapshot = self._build()
                snapshot = self._snapshot
        return snapshot

    def _build(self) -> _Snapshot:
        ids, entries = list(self._entries), list(self._entries.values())
        model = None
        if any(entry.tokens for entry in entries):
            import bm25s  # type: ignore[import-untyped]  # imports scipy: a quarter of a second

            model = bm25s.BM25(k1=self.k1, b=self.b, method=self.method)
            model.index([entry.tokens for entry in entries], show_progress=False)
        return _Snapshot(model, ids, entries, MetadataMasks([entry.metadata for entry in entries]))

    def save(self, path: str | Path) -> None:
        """Write the index under the folder ``path``: the bm25s matrix, and documents with their tokens as JSON.

        Keep one writer per folder. A crash mid-save leaves the previous index whole.
        """
        with self._saving:
            self._save(Path(path))

    def _save(self, folder: Path) -> None:
        snapshot = self._current()
        model_dir = fresh_name("bm25") if snapshot.model is not None else None
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if model_dir is not None:
                snapshot.model.save(folder / model_dir, show_progress=False)
        except OSError as error:
            raise IndexStoreError(f"could not write the BM25 index at {folder}: {error}") from error
        documents = [
            {"id": doc_id, "content": entry.content, "metadata": entry.metadata, "tokens": entry.tokens}
            for doc_id, entry in zip(snapshot.ids, snapshot.entries, strict=True)
        ]
        params = {"k1": self.k1, "b": self.b, "method": self.method}
        write_manifest(
            folder / MANIFEST,
            {"kind": KIND, "version": VERSION, **params, "model": model_dir, "documents": documents},
        )
        remove_stale(folder, "bm25", keep=model_dir or "")

    @classmethod
    def load(cls, path: str | Path, analyzer: Analyzer | None = None) -> BM25Index:
        """Open an index written by :meth:`save`; IndexStoreError when its files are missing or corrupt."""
        import bm25s

        folder = Path(path)
        manifest = read_manifest(folder / MANIFEST, KIND, VERSION)
        try:
            index = cls(analyzer, k1=manifest["k1"], b=manifest["b"], method=manifest["method"])
            entries = {
                str(doc["id"]): _Entry(str(doc["content"]), dict(doc["metadata"]), list(doc["tokens"]))
                for doc in manifest["documents"]
            }
            model_dir = manifest["model"]
            model = None if model_dir is None else bm25s.BM25.load(folder / model_dir, show_progress=False)
        except (OSError, EOFError, KeyError, TypeError, ValueError) as error:
            raise IndexStoreError(f"the BM25 index at {folder} is corrupt: {error!r}") from error
        if model is not None and model.scores["num_docs"] != len(entries):
            raise IndexStoreError(f"the BM25 index at {folder} is corrupt: its matrix and documents disagree")
        index._entries = entries
        index._snapshot = _Snapshot(
            model, list(entries), list(entries.values()), MetadataMasks([e.metadata for e in entries.values()])
        )
        return index
