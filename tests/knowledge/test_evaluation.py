"""Retrieval metrics against hand-computed values, and BEIR folder reading."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import pytest

from plait.knowledge.errors import KnowledgeError
from plait.knowledge.evaluation import evaluate, load_beir, mrr_at_k, ndcg_at_k, recall_at_k


def test_ndcg_matches_the_textbook_formula() -> None:
    relevant = {"a": 2, "b": 1}
    dcg = 1 / math.log2(3) + 2 / math.log2(4)
    idcg = 2 / math.log2(2) + 1 / math.log2(3)
    assert ndcg_at_k(["x", "b", "a"], relevant) == pytest.approx(dcg / idcg)
    assert ndcg_at_k(["a", "b"], relevant) == pytest.approx(1.0)
    assert ndcg_at_k(["x"], relevant) == 0.0
    assert ndcg_at_k(["a"], {}) == 0.0


def test_recall_and_mrr() -> None:
    relevant = {"a": 1, "b": 1, "c": 0}
    assert recall_at_k(["a", "x", "c"], relevant, 3) == pytest.approx(0.5)
    assert mrr_at_k(["x", "y", "b"], relevant) == pytest.approx(1 / 3)
    assert mrr_at_k(["x"], relevant) == 0.0
    assert recall_at_k(["a"], {"a": 0}) == 0.0


def test_evaluate_averages_over_judged_queries_and_scores_missing_runs_zero() -> None:
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}, "q3": {"c": 0}}
    scores = evaluate({"q1": ["a"]}, qrels)
    assert scores == {"ndcg@10": 0.5, "recall@100": 0.5, "mrr@10": 0.5}
    with pytest.raises(KnowledgeError, match="no judged queries"):
        evaluate({}, {"q": {"a": 0}})


def write_dataset(root: Path, gz: bool) -> None:
    (root / "qrels").mkdir(parents=True)
    rows = [{"_id": "d1", "title": "Tides", "text": "The moon pulls"}, {"_id": "d2", "text": "Bread"}]
    data = "".join(json.dumps(r) + "\n" for r in rows)
    if gz:
        with gzip.open(root / "corpus.jsonl.gz", "wt") as out:
            out.write(data)
    else:
        (root / "corpus.jsonl").write_text(data)
    (root / "queries_test.jsonl").write_text('{"_id": "q1", "text": "moon"}\n{"_id": "q9", "text": "unjudged"}\n')
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n")


@pytest.mark.parametrize("gz", [False, True])
def test_load_beir_reads_plain_and_gzipped_corpora(tmp_path: Path, gz: bool) -> None:
    write_dataset(tmp_path, gz)
    data = load_beir(tmp_path)
    assert data.corpus["d1"] == {"title": "Tides", "text": "The moon pulls"}
    assert data.corpus["d2"]["title"] == ""
    assert data.queries == {"q1": "moon"}
    assert data.qrels == {"q1": {"d1": 1}}


def test_load_beir_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match="does not exist"):
        load_beir(tmp_path / "missing")
    write_dataset(tmp_path, False)
    with pytest.raises(KnowledgeError, match=r"no qrels/train\.tsv"):
        load_beir(tmp_path, "train")
    (tmp_path / "corpus.jsonl").write_text("{not json\n")
    with pytest.raises(KnowledgeError, match=r"corpus\.jsonl:1: not JSON"):
        load_beir(tmp_path)
    (tmp_path / "qrels" / "test.tsv").write_text("header\nq1 d1\n")
    write_dataset_corpus = tmp_path / "corpus.jsonl"
    write_dataset_corpus.write_text('{"_id": "d1", "text": "x"}\n')
    with pytest.raises(KnowledgeError, match=r"test\.tsv:2"):
        load_beir(tmp_path)


def test_real_scifact_test_split_loads() -> None:
    scifact = Path(__file__).resolve().parents[3] / "shared" / "data" / "retrieval" / "scifact"
    if not scifact.is_dir():  # the evaluation sets sit beside the repository in the workspace, not in a clone
        pytest.skip("../shared/data/retrieval/scifact is absent: the evaluation sets are not in this clone")
    data = load_beir(scifact)
    assert len(data.corpus) == 5183
    assert len(data.queries) == 300
