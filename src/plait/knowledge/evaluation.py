"""Retrieval evaluation on BEIR-style data: corpus, queries and graded relevance judgements.

A dataset folder holds ``corpus.jsonl`` (or ``.jsonl.gz``) of ``{"_id", "title", "text"}``,
``queries_<split>.jsonl`` (or ``queries.jsonl``) of ``{"_id", "text"}`` and ``qrels/<split>.tsv`` with a
header line and ``query-id corpus-id score`` rows. Metrics follow the usual definitions (as in BEIR and
pytrec_eval): nDCG@k with graded gains, Recall@k, MRR@k.
"""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plait.knowledge.errors import KnowledgeError


@dataclass(slots=True)
class BeirDataset:
    corpus: dict[str, dict[str, str]]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def load_beir(folder: str | Path, split: str = "test") -> BeirDataset:
    """Read a BEIR-style folder; a missing file or a malformed line is a KnowledgeError that names it."""
    root = Path(folder)
    if not root.is_dir():
        raise KnowledgeError(f"dataset folder {root} does not exist")
    qrels_file = root / "qrels" / f"{split}.tsv"
    if not qrels_file.exists():
        raise KnowledgeError(f"{root}: no qrels/{split}.tsv")
    corpus_file = _first_existing(root, ["corpus.jsonl", "corpus.jsonl.gz"])
    queries_file = _first_existing(root, [f"queries_{split}.jsonl", "queries.jsonl"])
    corpus = {
        str(row["_id"]): {"title": str(row.get("title") or ""), "text": str(row.get("text") or "")}
        for row in _jsonl(corpus_file)
    }
    qrels: dict[str, dict[str, int]] = {}
    with qrels_file.open(encoding="utf-8") as lines:
        next(lines, None)
        for number, line in enumerate(lines, start=2):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 3:
                raise KnowledgeError(f"{qrels_file}:{number}: expected 'query-id corpus-id score'")
            qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    queries = {str(row["_id"]): str(row["text"]) for row in _jsonl(queries_file) if str(row["_id"]) in qrels}
    return BeirDataset(corpus=corpus, queries=queries, qrels=qrels)


def _first_existing(root: Path, names: Sequence[str]) -> Path:
    for name in names:
        if (root / name).exists():
            return root / name
    raise KnowledgeError(f"{root}: none of {', '.join(names)} found")


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise KnowledgeError(f"{path}:{number}: not JSON ({exc.msg})") from exc


def ndcg_at_k(ranking: Sequence[str], relevant: Mapping[str, int], k: int = 10) -> float:
    gains = [relevant.get(doc_id, 0) for doc_id in ranking[:k]]
    dcg = sum(gain / math.log2(rank + 2) for rank, gain in enumerate(gains) if gain > 0)
    ideal = sorted((g for g in relevant.values() if g > 0), reverse=True)[:k]
    idcg = sum(gain / math.log2(rank + 2) for rank, gain in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at_k(ranking: Sequence[str], relevant: Mapping[str, int], k: int = 100) -> float:
    wanted = {doc_id for doc_id, gain in relevant.items() if gain > 0}
    if not wanted:
        return 0.0
    return len(wanted.intersection(ranking[:k])) / len(wanted)


def mrr_at_k(ranking: Sequence[str], relevant: Mapping[str, int], k: int = 10) -> float:
    for rank, doc_id in enumerate(ranking[:k], start=1):
        if relevant.get(doc_id, 0) > 0:
            return 1.0 / rank
    return 0.0


def evaluate(runs: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, int]]) -> dict[str, float]:
    """Mean nDCG@10, Recall@100 and MRR@10 over the judged queries (a query with no run scores zero)."""
    judged = [q for q in qrels if any(g > 0 for g in qrels[q].values())]
    if not judged:
        raise KnowledgeError("no judged queries to evaluate")
    totals = {"ndcg@10": 0.0, "recall@100": 0.0, "mrr@10": 0.0}
    for query_id in judged:
        ranking = runs.get(query_id, ())
        totals["ndcg@10"] += ndcg_at_k(ranking, qrels[query_id], 10)
        totals["recall@100"] += recall_at_k(ranking, qrels[query_id], 100)
        totals["mrr@10"] += mrr_at_k(ranking, qrels[query_id], 10)
    return {name: value / len(judged) for name, value in totals.items()}
