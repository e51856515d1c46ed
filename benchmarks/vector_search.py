"""Search latency of the embedded indexes: ExactVectorStore at 100,000 x 384, and BM25Index on BEIR SciFact.

One query at a time, as a chat turn asks. The vector store's latency includes its hop to a worker thread; BM25's
includes analysing the query with ``plait.nlu.Analyzer``. BM25 also reports the cost of a change (the matrix is
rebuilt at the next search), save/load, and nDCG@10 as a check that speed did not cost correctness.

    .venv/bin/python benchmarks/vector_search.py [--rows 100000] [--queries 500] [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from _report import print_table, write_json
from plait.knowledge.evaluation import evaluate, load_beir
from plait.knowledge.index.bm25 import BM25Index
from plait.knowledge.index.vectors import ExactVectorStore
from plait.schema import Document

DIMENSION = 384
DEFAULT_ROWS = 100_000
DEFAULT_QUERIES = 500
WARMUP = 20
SCIFACT = Path("/work/shared/data/retrieval/scifact")
DEFAULT_JSON = Path(__file__).parent / "results" / "vector_search.json"
MAX_EXACT_P50_MS = 10.0
MAX_BM25_P50_MS = 2.0


def summary(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    return {
        "p50_ms": statistics.median(ordered) * 1e3,
        "p95_ms": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1e3,
        "n": len(ordered),
    }


def timed(function: Callable[[], object]) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def unit_vectors(rows: int, seed: int) -> np.ndarray[Any, np.dtype[np.float32]]:
    vectors = np.random.default_rng(seed).standard_normal((rows, DIMENSION), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def numpy_alone(matrix: np.ndarray[Any, np.dtype[np.float32]], probe: np.ndarray[Any, np.dtype[np.float32]]) -> None:
    """The floor under the store: one matrix-vector product and a top-10 selection, on the calling thread."""
    scores = matrix @ probe
    best = np.argpartition(-scores, 9)[:10]
    best[np.argsort(-scores[best])]


async def exact_store(rows: int, queries: int) -> dict[str, Any]:
    store = ExactVectorStore(dimension=DIMENSION)
    matrix = unit_vectors(rows, seed=0)
    started = time.perf_counter()
    await store.upsert([f"doc-{i}" for i in range(rows)], matrix, metadata=[{"group": i % 10} for i in range(rows)])
    upsert_s = time.perf_counter() - started
    probes = unit_vectors(queries + WARMUP, seed=1)
    results: dict[str, Any] = {"rows": rows, "dimension": DIMENSION, "upsert_s": upsert_s}
    # Interleaved, so that the three see the same load from whatever else runs on the machine.
    timings: dict[str, list[float]] = {"search": [], "search, filter 1 group in 10": [], "numpy alone": []}
    for i, probe in enumerate(probes):
        figures = {"numpy alone": timed(partial(numpy_alone, matrix, probe))}
        for label, filters in [("search", None), ("search, filter 1 group in 10", {"group": 3})]:
            started = time.perf_counter()
            await store.search(probe, 10, filters)
            figures[label] = time.perf_counter() - started
        if i >= WARMUP:
            for label, seconds in figures.items():
                timings[label].append(seconds)
    overhead = [s - n for s, n in zip(timings["search"], timings["numpy alone"], strict=True)]
    results |= {label: summary(seconds) for label, seconds in timings.items()}
    results["store overhead p50_ms"] = statistics.median(overhead) * 1e3
    return results


def bm25_scifact() -> dict[str, Any] | None:
    try:
        from plait.nlu import Analyzer
    except ImportError:
        return None
    dataset = load_beir(SCIFACT, "test")
    documents = [Document(id=i, content=f"{d['title']} {d['text']}".strip()) for i, d in dataset.corpus.items()]
    analyzer = Analyzer()
    index = BM25Index(analyzer)
    results: dict[str, Any] = {"documents": len(documents), "queries": len(dataset.queries), "k1": 1.5, "b": 0.75}
    results["add_s"] = timed(lambda: index.add(documents))  # the analyzer's work, once per document
    results["first_build_s"] = timed(lambda: index.search("warm up"))
    queries = list(dataset.queries.values())
    for query in queries[:WARMUP]:
        index.search(query, 10)
    latencies, analysis = [], []
    for _ in range(3):
        for query in queries:
            analysis.append(timed(partial(analyzer, query)))
            latencies.append(timed(partial(index.search, query, 10)))
    results["search"] = summary(latencies)
    results["analyzer alone"] = summary(analysis)
    rebuilds = []
    for i in range(5):  # one change, then the search that rebuilds the matrix
        index.add([Document(id=f"extra-{i}", content="an added abstract about cells")])
        rebuilds.append(timed(lambda: index.search(queries[0], 10)))
    results["change + next search"] = summary(rebuilds)
    with tempfile.TemporaryDirectory() as folder:
        results["save_s"] = timed(lambda: index.save(folder))
        results["load_s"] = timed(lambda: BM25Index.load(folder, analyzer))
    runs = {qid: [d.id for d in index.search(text, 100)] for qid, text in dataset.queries.items()}
    results["quality"] = evaluate(runs, dataset.qrels)
    return results


def verdict(value: float, limit: float) -> str:
    return "PASS" if value <= limit else "FAIL"


async def run(rows: int, queries: int, json_path: Path) -> None:
    load_before = os.getloadavg()
    exact = await exact_store(rows, queries)
    bm25 = bm25_scifact()
    load = {"before": load_before, "after": os.getloadavg()}
    exact_rows = [
        ("search", f"ExactVectorStore search, {rows:,} x {DIMENSION}", MAX_EXACT_P50_MS),
        ("search, filter 1 group in 10", "  the same, filtered to 1 group in 10", None),
        ("numpy alone", "  numpy alone: matmul + top-k, no store, no thread", None),
    ]
    bm25_rows = [
        ("search", "BM25Index search, SciFact, query analysis included", MAX_BM25_P50_MS),
        ("analyzer alone", "  the analyzer alone", None),
        ("change + next search", "  one add, then the search that rebuilds", None),
    ]
    measured = [(exact[label], title, limit) for label, title, limit in exact_rows]
    if bm25 is not None:
        measured += [(bm25[label], title, limit) for label, title, limit in bm25_rows]
    table = []
    for figures, title, limit in measured:
        row = [title, f"{figures['p50_ms']:.2f}", f"{figures['p95_ms']:.2f}"]
        row += [f"≤ {limit:g}", verdict(figures["p50_ms"], limit)] if limit else ["", ""]
        table.append(row)
    print_table("Search latency, one query at a time, ms (top 10)", ["workload", "p50", "p95", "p50 target", ""], table)
    print(f"load average (1, 5, 15 min) before {load['before']}, after {load['after']}: other work skews latency")
    print(
        f"ExactVectorStore: upsert of {rows:,} vectors in one call {exact['upsert_s']:.2f} s; search minus numpy "
        f"alone, paired per query: p50 {exact['store overhead p50_ms']:.2f} ms"
    )
    if bm25 is None:
        print("BM25 on SciFact: skipped, plait.nlu (the Analyzer) is not importable")
    else:
        quality = ", ".join(f"{name} {value:.4f}" for name, value in bm25["quality"].items())
        print(
            f"BM25 on SciFact ({bm25['documents']:,} documents): add (analysis) {bm25['add_s']:.2f} s, "
            f"first build {bm25['first_build_s'] * 1e3:.0f} ms, save {bm25['save_s'] * 1e3:.0f} ms, "
            f"load {bm25['load_s'] * 1e3:.0f} ms; {quality}"
        )
    written = write_json(
        json_path,
        {
            "benchmark": "vector_search",
            "settings": {"rows": rows, "queries": queries, "warmup": WARMUP, "top_k": 10},
            "load_average": load,
            "exact_vector_store": exact,
            "bm25_scifact": bm25,
            "targets": {"exact_p50_ms": MAX_EXACT_P50_MS, "bm25_p50_ms": MAX_BM25_P50_MS},
        },
    )
    print(f"results: {written}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help=f"vectors in the store (default {DEFAULT_ROWS})")
    parser.add_argument("--queries", type=int, default=DEFAULT_QUERIES, help="timed vector queries")
    parser.add_argument("--quick", action="store_true", help="smoke run: 20,000 vectors, 100 queries")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"results file (default {DEFAULT_JSON})")
    options = parser.parse_args()
    rows, queries = (20_000, 100) if options.quick else (options.rows, options.queries)
    asyncio.run(run(rows, queries, options.json))


if __name__ == "__main__":
    main()
