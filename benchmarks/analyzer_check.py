"""Analyzer check: BM25 nDCG@10 of each plait.nlu.Analyzer variant on SciFact, CMRC 2018 and DRCD.

Every variant indexes title + text with bm25s defaults (Lucene BM25, k1=1.5, b=0.75) and scores the test
queries (SciFact also its train split, the only one English choices were tuned on). The Chinese sets have a test
split only, so Chinese defaults follow principles that hold on both rather than per-set tuning.

    .venv/bin/python benchmarks/analyzer_check.py [--quick] [--data DIR] [--json PATH]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import bm25s  # type: ignore[import-untyped]
import numpy as np
import opencc
import Stemmer  # type: ignore[import-not-found]

from _report import print_table, write_json
from plait.nlu import Analyzer

Tokenize = Callable[[str], list[str]]

DEFAULT_DATA = Path("/work/shared/data/retrieval")
DEFAULT_JSON = Path(__file__).parent / "results" / "analyzer_check.json"
SETS = (("scifact", "train"), ("scifact", "test"), ("cmrc2018", "test"), ("drcd", "test"))
SPEED_ROUNDS = 3
_HAN_RUN = re.compile("[\u4e00-\u9fff]{2,}")


@dataclass(frozen=True, slots=True)
class Dataset:
    doc_ids: list[str]
    docs: list[str]
    queries: list[str]
    qrels: list[dict[str, int]]


def load(root: Path, name: str, split: str) -> Dataset:
    folder = root / name
    plain = folder / "corpus.jsonl"
    lines = plain.read_text("utf-8") if plain.exists() else gzip.decompress((folder / "corpus.jsonl.gz").read_bytes())
    corpus = [json.loads(line) for line in lines.splitlines() if line.strip()]
    qrels: dict[str, dict[str, int]] = {}
    with (folder / "qrels" / f"{split}.tsv").open(encoding="utf-8") as handle:
        rows = csv.reader(handle, delimiter="\t")
        next(rows)  # header: query-id corpus-id score
        for query_id, doc_id, score in rows:
            qrels.setdefault(query_id, {})[doc_id] = int(score)
    with (folder / f"queries_{split}.jsonl").open(encoding="utf-8") as handle:
        queries = [json.loads(line) for line in handle if line.strip()]
    queries = [query for query in queries if query["_id"] in qrels]
    return Dataset(
        doc_ids=[doc["_id"] for doc in corpus],
        docs=[f"{doc.get('title', '')} {doc['text']}".strip() for doc in corpus],
        queries=[query["text"] for query in queries],
        qrels=[qrels[query["_id"]] for query in queries],
    )


def ndcg_at_10(ranked: list[str], relevant: dict[str, int]) -> float:
    """trec_eval's nDCG@10: linear gain from the graded qrels, log2 discount."""
    dcg = sum(relevant.get(doc, 0) / math.log2(rank + 2) for rank, doc in enumerate(ranked[:10]))
    ideal = sorted(relevant.values(), reverse=True)[:10]
    return dcg / sum(gain / math.log2(rank + 2) for rank, gain in enumerate(ideal))


def evaluate(tokenize: Tokenize, data: Dataset) -> tuple[float, float]:
    """nDCG@10 on the queries, and documents analysed per second."""
    started = time.perf_counter()
    corpus_terms = [tokenize(doc) for doc in data.docs]
    docs_per_s = len(data.docs) / (time.perf_counter() - started)
    retriever = bm25s.BM25()
    retriever.index(corpus_terms, show_progress=False)
    query_terms = [tokenize(query) for query in data.queries]
    hits, _ = retriever.retrieve(query_terms, k=10, show_progress=False)
    scores = [
        ndcg_at_10([data.doc_ids[i] for i in row], relevant) for row, relevant in zip(hits, data.qrels, strict=True)
    ]
    return float(np.mean(scores)), docs_per_s


def bm25s_reference() -> Tokenize:
    """bm25s's own tokenizer with PyStemmer: the setup behind its SciFact figure (English only)."""
    stemmer = Stemmer.Stemmer("english")

    def tokenize(text: str) -> list[str]:
        terms = bm25s.tokenize(text, stemmer=stemmer, return_ids=False, show_progress=False)
        return list(terms[0])

    return tokenize


def with_bigrams(analyzer: Analyzer) -> Tokenize:
    """The analyzer's words plus every pair of adjacent Han characters: an experiment, not in the Analyzer."""

    to_simplified = opencc.OpenCC("t2s")

    def tokenize(text: str) -> list[str]:
        runs = _HAN_RUN.findall(to_simplified.convert(text))
        return analyzer(text) + [run[i : i + 2] for run in runs for i in range(len(run) - 1)]

    return tokenize


def variants(quick: bool) -> dict[str, Tokenize]:
    default = Analyzer()
    if quick:
        return {"default": default}
    return {
        "default": default,
        "no English stop words": Analyzer(stopwords=False),
        "no stemming": Analyzer(stem=False),
        "bm25s.tokenize + PyStemmer": bm25s_reference(),
        "jieba HMM on": Analyzer(hmm=True),
        "exact cut (jieba.cut)": Analyzer(chinese_cut="exact"),
        "exact cut, HMM on": Analyzer(chinese_cut="exact", hmm=True),
        "no t2s conversion": Analyzer(simplify=False),
        "jieba defaults (search, HMM, no t2s)": Analyzer(hmm=True, simplify=False),
        "Chinese stop words": Analyzer(chinese_stopwords=True),
        "+ Han character bigrams": with_bigrams(default),
    }


def speed(root: Path) -> dict[str, float]:
    """Default analyzer throughput, best of a few rounds, on each corpus."""
    analyzer = Analyzer()
    results = {}
    for name in ("scifact", "cmrc2018", "drcd"):
        docs = load(root, name, "test").docs
        analyzer(docs[0])  # load jieba and the stemmer outside the timing
        best = min(_timed(analyzer, docs) for _ in range(SPEED_ROUNDS))
        results[name] = len(docs) / best
    return results


def _timed(analyzer: Analyzer, docs: list[str]) -> float:
    started = time.perf_counter()
    for doc in docs:
        analyzer(doc)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the default analyzer only")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"BEIR-format sets (default {DEFAULT_DATA})")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"results file (default {DEFAULT_JSON})")
    args = parser.parse_args()
    datasets = {f"{name} {split}": load(args.data, name, split) for name, split in SETS}
    table: dict[str, dict[str, float]] = {}
    for label, tokenize in variants(args.quick).items():
        table[label] = {}
        for set_name, data in datasets.items():
            if label.startswith("bm25s") and not set_name.startswith("scifact"):
                continue  # its \w\w+ pattern keeps whole Han runs as one token: not a Chinese baseline
            table[label][set_name], _ = evaluate(tokenize, data)
        print(label, {key: round(value, 4) for key, value in table[label].items()}, flush=True)
    rates = speed(args.data)
    columns = ["variant", *datasets]
    rows = [[label, *(f"{scores[s]:.4f}" if s in scores else "-" for s in datasets)] for label, scores in table.items()]
    print_table("BM25 nDCG@10 (bm25s lucene k1=1.5 b=0.75, title + text)", columns, rows)
    print_table(
        "Default analyzer speed", ["corpus", "docs/s"], [[name, f"{rate:,.0f}"] for name, rate in rates.items()]
    )
    written = write_json(args.json, {"ndcg_at_10": table, "docs_per_second": rates})
    print(f"results: {written}")


if __name__ == "__main__":
    main()
