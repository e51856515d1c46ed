"""Retrieval quality and speed on public data: SciFact (English), CMRC 2018 (simplified Chinese) and DRCD
(traditional Chinese), in BM25, vector and hybrid modes, against the targets of the knowledge issue.

Also measures knowledge-base ingestion (load, chunk, embed, index) in chunks/s with the local embedder.
Corpus vectors are cached under the data dir, so a second run skips embedding the corpora.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _report import print_table, write_json
from plait.datadir import data_dir
from plait.embeddings import LocalEmbedder
from plait.knowledge.base import KnowledgeBase
from plait.knowledge.config import ChunkingConfig, KnowledgeBaseConfig
from plait.knowledge.eval_run import evaluate_retrieval
from plait.schema import Document

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "retrieval"
TARGETS: dict[tuple[str, str], float] = {
    ("scifact", "bm25"): 0.675,
    ("scifact", "vector"): 0.64,
    ("scifact", "hybrid"): 0.70,
    ("cmrc2018", "hybrid"): 0.97,
    ("drcd", "hybrid"): 0.95,
}
RUNS = [(name, mode) for name in ("scifact", "cmrc2018", "drcd") for mode in ("bm25", "vector", "hybrid")]


async def quality(embedder: LocalEmbedder, limit: int | None) -> list[dict[str, Any]]:
    reports = []
    for dataset, mode in RUNS:
        print(f"evaluating {dataset} {mode} ...", file=sys.stderr)
        report = await evaluate_retrieval(
            DATA / dataset, mode=mode, embedder=embedder, cache_dir=data_dir("cache", "eval-embeddings"), limit=limit
        )
        reports.append(report.as_dict())
    return reports


async def ingestion(embedder: LocalEmbedder, documents: int, chunk_size: int) -> dict[str, Any]:
    """Chunks/s of KnowledgeBase.add_documents on SciFact abstracts with the local embedder."""
    with gzip.open(DATA / "scifact" / "corpus.jsonl.gz", "rt", encoding="utf-8") as lines:
        rows = [json.loads(line) for _, line in zip(range(documents), lines, strict=False)]
    docs = [Document(id=row["_id"], content=f"{row['title']}\n{row['text']}") for row in rows]
    with tempfile.TemporaryDirectory() as folder:
        config = KnowledgeBaseConfig(
            name="bench", chunking=ChunkingConfig(chunk_size=chunk_size, chunk_overlap=chunk_size // 8)
        )
        base = await KnowledgeBase.open(Path(folder) / "kb", config, embedder=embedder)
        try:
            started = time.perf_counter()
            records = await base.add_documents(docs)
            seconds = time.perf_counter() - started
        finally:
            await base.close()
    chunks = sum(r.chunk_count for r in records)
    return {
        "chunk_size": chunk_size,
        "documents": len(docs),
        "chunks": chunks,
        "seconds": seconds,
        "chunks_per_second": chunks / seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="50 queries per run and a small ingestion sample")
    parser.add_argument("--json", type=Path, default=Path(__file__).parent / "results" / "retrieval.json")
    args = parser.parse_args()
    embedder = LocalEmbedder()
    load_before = os.getloadavg()[0]
    reports = asyncio.run(quality(embedder, 50 if args.quick else None))
    sample = 100 if args.quick else 500
    ingest = [asyncio.run(ingestion(embedder, sample, size)) for size in (256, 128)]
    rows = []
    for report in reports:
        target = TARGETS.get((report["dataset"], report["mode"]))
        verdict = "" if target is None else ("PASS" if report["ndcg_at_10"] >= target else "FAIL")
        rows.append(
            [
                report["dataset"],
                report["mode"],
                f"{report['ndcg_at_10']:.4f}",
                "" if target is None else f"≥ {target}",
                verdict,
                f"{report['recall_at_100']:.4f}",
                f"{report['mrr_at_10']:.4f}",
                f"{report['latency_p50_ms']:.2f}",
                f"{report['latency_p95_ms']:.2f}",
            ]
        )
    print_table(
        "Retrieval quality (test splits) and query latency, one query at a time, query embedding included",
        ["dataset", "mode", "nDCG@10", "target", "", "Recall@100", "MRR@10", "p50 ms", "p95 ms"],
        rows,
    )
    scifact = {r["mode"]: r["ndcg_at_10"] for r in reports if r["dataset"] == "scifact"}
    beats_parts = scifact["hybrid"] > max(scifact["bm25"], scifact["vector"])
    print(f"SciFact hybrid above both of its parts: {'PASS' if beats_parts else 'FAIL'}")
    latency = {(r["dataset"], r["mode"]): r["latency_p50_ms"] for r in reports}
    print(
        f"SciFact p50: hybrid {latency[('scifact', 'hybrid')]:.2f} ms (target < 25), "
        f"BM25 {latency[('scifact', 'bm25')]:.2f} ms (target < 2)"
    )
    for run in ingest:
        print(
            f"Ingestion, {run['chunk_size']}-token chunks (256 is the default): {run['chunks']} chunks from "
            f"{run['documents']} SciFact abstracts in {run['seconds']:.1f} s = {run['chunks_per_second']:.1f} "
            "chunks/s (target ≥ 40)"
        )
    path = write_json(args.json, {"reports": reports, "ingestion": ingest, "load_average_at_start": load_before})
    print(f"results: {path}")


if __name__ == "__main__":
    main()
