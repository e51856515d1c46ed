"""The BM25 keyword index of a knowledge base: an inverted index that grows in place.

Each term keeps a posting list (rows and term frequencies, in flat arrays) and its document frequency; a query
scores only the posting lists of its terms, with IDF and average length taken from the live documents at that
moment, so adding or deleting a document costs its own terms and never rebuilds the index. Deleted rows stay in
the posting lists, masked out, until they outnumber the live ones; then the lists are compacted once. The
scores are those of bm25s's Lucene, Robertson and ATIRE variants (as before this index replaced it). The
analyzer, the slow part, runs outside the lock, and one lock guards changes and searches, so threads may search
while others write.
"""

from __future__ import annotations

import math
import threading
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from plait.knowledge.errors import IndexStoreError
from plait.knowledge.index._storage import check_json, read_manifest, remove_stale, write_manifest
from plait.knowledge.index.filters import MetadataMasks, parse_filters
from plait.schema import Document

Analyzer = Callable[[str], list[str]]

# Methods under which a document sharing no term with the query scores exactly 0, so "matched" is "score > 0".
# (bm25l and bm25+ give every document a non-occurrence score.)
METHODS = ("lucene", "robertson", "atire")
MANIFEST = "index.json"
KIND = "plait-bm25-index"
VERSION = 1  # the documents with their tokens; the bm25s matrix that version 1 also named is no longer read
COMPACT_AFTER = 1024  # deleted rows tolerated before compaction, if they also outnumber the live ones


def _default_analyzer() -> Analyzer:
    from plait.nlu import Analyzer

    return Analyzer()


class BM25Index:
    """Documents indexed by their analyzed terms; ``search`` returns the best matches with their BM25 scores.

    Documents sharing no term with the query are never returned. Persist with :meth:`save` and :meth:`load`; the
    analyzer is not saved, so load with the one the index was built with. Callers that keep the terms elsewhere
    (a database) analyze once with :attr:`analyzer` and index with :meth:`add_analyzed`.
    """

    def __init__(
        self, analyzer: Analyzer | None = None, *, k1: float = 1.5, b: float = 0.75, method: str = "lucene"
    ) -> None:
        if method not in METHODS:
            raise ValueError(f"unknown BM25 method {method!r}; choose one of {', '.join(METHODS)}")
        self.analyzer = analyzer if analyzer is not None else _default_analyzer()
        self.k1, self.b, self.method = k1, b, method
        self._lock = threading.Lock()
        self._saving = threading.Lock()  # one save at a time: each removes the files the others wrote
        self._clear()

    def _clear(self) -> None:
        # Per row (a document's place; rows of deleted documents keep their place until compaction).
        self._ids: list[str | None] = []
        self._contents: list[str] = []
        self._metadata: list[dict[str, Any]] = []
        self._lengths = array("i")  # tokens in the row (0 once deleted)
        self._bag_start = array("q", [0])  # the row's distinct terms are _bag_terms[start[row]:start[row + 1]]
        self._bag_terms = array("i")
        self._bag_counts = array("i")
        self._rows: dict[str, int] = {}  # live documents: id -> row
        # Per term.
        self._vocabulary: dict[str, int] = {}
        self._terms: list[str] = []
        self._postings: list[tuple[array[int], array[int]]] = []  # rows, frequencies
        self._df = array("i")  # live documents containing the term
        self._total_length = 0  # tokens of the live documents
        self._masks: MetadataMasks | None = None  # filter masks over the rows, built at the first filtered search

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, documents: Iterable[Document]) -> None:
        """Index documents, replacing those with the same id."""
        documents = list(documents)
        self._check(documents)
        self.add_analyzed(documents, [self.analyzer(document.content) for document in documents])

    def add_analyzed(self, documents: Sequence[Document], tokens: Sequence[Sequence[str]]) -> None:
        """Index documents whose terms were already analyzed (``tokens[i]`` of ``documents[i]``)."""
        self._check(documents)
        if len(documents) != len(tokens):
            raise IndexStoreError(f"{len(documents)} documents but {len(tokens)} token lists")
        with self._lock:
            for document, terms in zip(documents, tokens, strict=True):
                self._remove(document.id)
                self._append(document.id, document.content, dict(document.metadata), Counter(terms))
            self._masks = None

    def delete(self, ids: Iterable[str]) -> int:
        """Remove documents by id; unknown ids are ignored. Returns how many were removed."""
        with self._lock:
            removed = sum(self._remove(doc_id) for doc_id in ids)
            if len(self._ids) - len(self._rows) > max(COMPACT_AFTER, len(self._rows)):
                self._compact()
        return removed

    def search(self, query: str, top_k: int = 10, filters: Mapping[str, Any] | None = None) -> list[Document]:
        """The ``top_k`` best documents for ``query`` among those matching ``filters``, best first."""
        conditions = parse_filters(filters)
        terms = self.analyzer(query) if top_k > 0 else []
        with self._lock:
            term_ids = [self._vocabulary[term] for term in terms if term in self._vocabulary]
            term_ids = [term_id for term_id in term_ids if self._df[term_id] > 0]
            if not term_ids:
                return []
            scores = self._scores(term_ids)
            if conditions:
                if self._masks is None:
                    self._masks = MetadataMasks(self._metadata)
                mask = self._masks.mask(conditions)
                assert mask is not None  # there are conditions
                scores[~mask] = 0.0
            rows = np.flatnonzero(scores > 0)
            if len(rows) > top_k:
                rows = rows[np.argpartition(-scores[rows], top_k - 1)[:top_k]]
            rows = rows[np.lexsort((rows, -scores[rows]))]  # best first; ties in indexing order
            return [
                Document(
                    id=str(self._ids[row]),
                    content=self._contents[row],
                    metadata=dict(self._metadata[row]),
                    score=float(scores[row]),
                )
                for row in rows.tolist()
            ]

    # -- the index itself (callers hold the lock) ------------------------------------------------------------
    @staticmethod
    def _check(documents: Sequence[Document]) -> None:
        for document in documents:
            if not document.id:
                raise IndexStoreError("a document needs an id to be indexed")
            check_json(document.metadata, f"document {document.id!r}")

    def _append(self, doc_id: str, content: str, metadata: dict[str, Any], counts: Counter[str]) -> None:
        row = len(self._ids)
        self._ids.append(doc_id)
        self._contents.append(content)
        self._metadata.append(metadata)
        length = sum(counts.values())
        self._lengths.append(length)
        self._total_length += length
        for term, count in counts.items():
            term_id = self._vocabulary.get(term)
            if term_id is None:
                term_id = self._vocabulary[term] = len(self._terms)
                self._terms.append(term)
                self._postings.append((array("i"), array("i")))
                self._df.append(0)
            rows, frequencies = self._postings[term_id]
            rows.append(row)
            frequencies.append(count)
            self._df[term_id] += 1
            self._bag_terms.append(term_id)
            self._bag_counts.append(count)
        self._bag_start.append(len(self._bag_terms))
        self._rows[doc_id] = row

    def _remove(self, doc_id: str) -> bool:
        row = self._rows.pop(doc_id, None)
        if row is None:
            return False
        for term_id in self._bag_terms[self._bag_start[row] : self._bag_start[row + 1]]:
            self._df[term_id] -= 1
        self._total_length -= self._lengths[row]
        self._lengths[row] = 0
        self._ids[row], self._contents[row], self._metadata[row] = None, "", {}
        self._masks = None
        return True

    def _compact(self) -> None:
        """Rebuild the posting lists from the live rows' terms: once deleted rows outnumber the live ones."""
        live = [
            (
                self._ids[row],
                self._contents[row],
                self._metadata[row],
                Counter(
                    {
                        self._terms[term]: count
                        for term, count in zip(
                            self._bag_terms[self._bag_start[row] : self._bag_start[row + 1]],
                            self._bag_counts[self._bag_start[row] : self._bag_start[row + 1]],
                            strict=True,
                        )
                    }
                ),
            )
            for row in sorted(self._rows.values())
        ]
        self._clear()
        for doc_id, content, metadata, counts in live:
            assert doc_id is not None  # live rows have ids
            self._append(doc_id, content, metadata, counts)

    def _scores(self, term_ids: list[int]) -> npt.NDArray[np.float64]:
        """BM25 of every row for the query terms (a term repeated in the query counts each time)."""
        live = len(self._rows)
        average = self._total_length / live if self._total_length else 1.0
        lengths = np.array(self._lengths, dtype=np.float64)
        scores = np.zeros(len(self._ids), dtype=np.float64)
        for term_id in term_ids:
            rows_array, frequencies_array = self._postings[term_id]
            rows = np.array(rows_array, dtype=np.intp)
            frequencies = np.array(frequencies_array, dtype=np.float64)
            norm = self.k1 * (1 - self.b + self.b * lengths[rows] / average)
            if self.method == "atire":
                part = frequencies * (self.k1 + 1) / (frequencies + norm)
            else:
                part = frequencies / (frequencies + norm)
            scores[rows] += self._idf(self._df[term_id], live) * part
        scores[lengths == 0] = 0.0  # deleted rows (and empty documents, which match nothing)
        return scores

    def _idf(self, df: int, n: int) -> float:
        if self.method == "lucene":
            return math.log(1 + (n - df + 0.5) / (df + 0.5))
        if self.method == "robertson":
            return math.log(max(1.0, (n - df + 0.5) / (df + 0.5)))
        return math.log(n / df)

    # -- persistence -----------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write the index under the folder ``path``: its documents with their terms, as JSON.

        Keep one writer per folder. A crash mid-save leaves the previous index whole.
        """
        folder = Path(path)
        with self._lock:
            documents = [self._document_entry(row) for row in sorted(self._rows.values())]
        params = {"k1": self.k1, "b": self.b, "method": self.method}
        with self._saving:
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise IndexStoreError(f"could not write the BM25 index at {folder}: {error}") from error
            write_manifest(
                folder / MANIFEST, {"kind": KIND, "version": VERSION, **params, "model": None, "documents": documents}
            )
            remove_stale(folder, "bm25", keep="")  # the bm25s matrices earlier versions wrote

    def _document_entry(self, row: int) -> dict[str, Any]:
        start, end = self._bag_start[row], self._bag_start[row + 1]
        tokens = [
            self._terms[term]
            for term, count in zip(self._bag_terms[start:end], self._bag_counts[start:end], strict=True)
            for _ in range(count)
        ]
        return {"id": self._ids[row], "content": self._contents[row], "metadata": self._metadata[row], "tokens": tokens}

    @classmethod
    def load(cls, path: str | Path, analyzer: Analyzer | None = None) -> BM25Index:
        """Open an index written by :meth:`save`; IndexStoreError when its files are missing or corrupt."""
        folder = Path(path)
        manifest = read_manifest(folder / MANIFEST, KIND, VERSION)
        try:
            index = cls(analyzer, k1=manifest["k1"], b=manifest["b"], method=manifest["method"])
            documents = [
                Document(id=str(doc["id"]), content=str(doc["content"]), metadata=dict(doc["metadata"]))
                for doc in manifest["documents"]
            ]
            tokens = [[str(token) for token in doc["tokens"]] for doc in manifest["documents"]]
        except (KeyError, TypeError, ValueError) as error:
            raise IndexStoreError(f"the BM25 index at {folder} is corrupt: {error!r}") from error
        if len({document.id for document in documents}) != len(documents):
            raise IndexStoreError(f"the BM25 index at {folder} is corrupt: a document id appears twice")
        index.add_analyzed(documents, tokens)
        return index
