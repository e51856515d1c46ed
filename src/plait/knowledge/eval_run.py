"""Running a retrieval evaluation: index a BEIR corpus whole (one document per passage, as BEIR does), run
every query through the chosen retriever one at a time, and report quality, latency and indexing speed."""

from __future__ import annotations

import hashlib
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from plait.components import Embedder
from plait.knowledge.config import DEFAULT_FUSION, DEFAULT_WEIGHTS
from plait.knowledge.evaluation import BeirDataset, evaluate, load_beir
from plait.knowledge.index.bm25 import BM25Index
from plait.knowledge.index.vectors import ExactVectorStore
from plait.knowledge.retrievers import HybridRetriever, KeywordRetriever, VectorRetriever
from plait.schema import Document

EvalMode = Literal["bm25", "vector", "hybrid"]


@dataclass(slots=True)
class RetrievalReport:
    dataset: str
    split: str
    mode: str
    queries: int
    documents: int
    ndcg_at_10: float
    recall_at_100: float
    mrr_at_10: float
    latency_p50_ms: float
    latency_p95_ms: float
    index_seconds: float
    documents_per_second: float
    embeddings_cached: bool
    settings: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def evaluate_retrieval(
    folder: str | Path,
    *,
    split: str = "test",
    mode: EvalMode = "hybrid",
    fusion: Literal["rrf", "weighted"] = DEFAULT_FUSION,
    weights: tuple[float, float] = DEFAULT_WEIGHTS,
    rrf_k: int = 60,
    embedder: Embedder | None = None,
    cache_dir: Path | None = None,
    limit: int | None = None,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> RetrievalReport:
    """Evaluate one retrieval mode on a BEIR folder; corpus vectors are cached in ``cache_dir`` when given."""
    dataset = load_beir(folder, split)
    documents = [
        Document(id=doc_id, content=f"{fields['title']}\n{fields['text']}".strip(), metadata={"title": fields["title"]})
        for doc_id, fields in dataset.corpus.items()
    ]
    started = time.perf_counter()
    keyword = vector = None
    cached = False
    if mode in ("bm25", "hybrid"):
        index = BM25Index()
        index.add(documents)
        index.search("warm up", top_k=1)  # builds the index now, so its cost counts as indexing
        keyword = KeywordRetriever(index, candidates=100)
    if mode in ("vector", "hybrid"):
        if embedder is None:
            from plait.embeddings import LocalEmbedder

            embedder = LocalEmbedder()
        store = ExactVectorStore(dimension=embedder.dimension)
        vectors, cached = await _corpus_vectors(documents, embedder, cache_dir, on_progress)
        await store.upsert([d.id for d in documents], vectors, contents=[d.content for d in documents])
        vector = VectorRetriever(store, embedder, candidates=100)
    index_seconds = time.perf_counter() - started
    retriever: Any
    if keyword is not None and vector is not None:
        retriever = HybridRetriever(keyword, vector, fusion=fusion, weights=weights, rrf_k=rrf_k, candidates=100)
    else:
        retriever = keyword or vector
    runs, latencies = await _run_queries(dataset, retriever, limit, on_progress)
    scores = evaluate(runs, {q: dataset.qrels[q] for q in runs})
    return RetrievalReport(
        dataset=Path(folder).name,
        split=split,
        mode=mode,
        queries=len(runs),
        documents=len(documents),
        ndcg_at_10=scores["ndcg@10"],
        recall_at_100=scores["recall@100"],
        mrr_at_10=scores["mrr@10"],
        latency_p50_ms=statistics.median(latencies) * 1000,
        latency_p95_ms=_percentile(latencies, 0.95) * 1000,
        index_seconds=index_seconds,
        documents_per_second=len(documents) / index_seconds if index_seconds else 0.0,
        embeddings_cached=cached,
        settings={"fusion": fusion, "weights": list(weights), "rrf_k": rrf_k} if mode == "hybrid" else {},
    )


async def _run_queries(
    dataset: BeirDataset, retriever: Any, limit: int | None, on_progress: Callable[[str, int, int], None] | None
) -> tuple[dict[str, list[str]], list[float]]:
    query_ids = [q for q in dataset.queries if q in dataset.qrels][:limit]
    runs: dict[str, list[str]] = {}
    latencies: list[float] = []
    for number, query_id in enumerate(query_ids, start=1):
        started = time.perf_counter()
        found = await retriever.retrieve(dataset.queries[query_id], top_k=100)
        latencies.append(time.perf_counter() - started)
        runs[query_id] = [d.id for d in found]
        if on_progress is not None:
            on_progress("queries", number, len(query_ids))
    return runs, latencies


async def _corpus_vectors(
    documents: list[Document],
    embedder: Embedder,
    cache_dir: Path | None,
    on_progress: Callable[[str, int, int], None] | None,
) -> tuple[list[list[float]], bool]:
    import numpy as np

    key = hashlib.sha256()
    key.update(str(getattr(embedder, "model_id", type(embedder).__name__)).encode())
    for document in documents:
        key.update(document.id.encode() + b"\0" + document.content.encode() + b"\0")
    cache_file = cache_dir / f"{key.hexdigest()[:32]}.npy" if cache_dir is not None else None
    if cache_file is not None and cache_file.exists():
        matrix = np.load(cache_file)
        if matrix.shape == (len(documents), embedder.dimension):
            return matrix.tolist(), True
    vectors: list[list[float]] = []
    batch = 64
    for start in range(0, len(documents), batch):
        vectors.extend(await embedder.embed([d.content for d in documents[start : start + batch]]))
        if on_progress is not None:
            on_progress("embedding", min(start + batch, len(documents)), len(documents))
    if cache_file is not None:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = cache_file.with_suffix(".tmp.npy")
        np.save(temporary, np.asarray(vectors, dtype=np.float32))
        temporary.replace(cache_file)
    return vectors, False


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0
