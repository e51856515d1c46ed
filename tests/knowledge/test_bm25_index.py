"""BM25Index: ranking, incremental changes, filters, persistence and its failures."""

from __future__ import annotations

import json
import math
import re
import threading
from pathlib import Path

import pytest

from plait.knowledge.errors import IndexStoreError
from plait.knowledge.index.bm25 import BM25Index
from plait.schema import Document

STOP = {"the", "a", "on", "and", "of", "in"}


def words(text: str) -> list[str]:
    """A stand-in analyzer: lower-cased words without a few stop words."""
    return [word for word in re.findall(r"\w+", text.lower()) if word not in STOP]


CORPUS = {
    "cat": "the cat sat on the mat",
    "cats": "cat and cat and cat",
    "dog": "the dog chased a ball",
    "both": "a dog and a cat in the garden of the house",
    "fish": "fish swim in the sea",
}


def make_index(**options: float | str) -> BM25Index:
    index = BM25Index(words, **options)  # type: ignore[arg-type]
    index.add(Document(id=doc_id, content=text, metadata={"n": i}) for i, (doc_id, text) in enumerate(CORPUS.items()))
    return index


def ids(documents: list[Document]) -> list[str]:
    return [document.id for document in documents]


def test_ranks_documents_by_bm25_and_leaves_out_those_without_the_terms() -> None:
    found = make_index().search("cat", top_k=10)
    assert ids(found) == ["cats", "cat", "both"]
    scores = [document.score for document in found]
    assert all(score is not None and score > 0 for score in scores)
    assert scores == sorted(scores, reverse=True)  # type: ignore[type-var]
    assert found[1].content == CORPUS["cat"] and found[1].metadata == {"n": 0}


def test_the_score_is_lucene_bm25() -> None:
    [hit, *_] = make_index(k1=1.2, b=0.75).search("fish")
    lengths = [len(words(text)) for text in CORPUS.values()]
    idf = math.log(1 + (5 - 1 + 0.5) / (1 + 0.5))
    tf, length, average = 1, len(words(CORPUS["fish"])), sum(lengths) / len(lengths)
    assert hit.score == pytest.approx(idf * tf / (tf + 1.2 * (1 - 0.75 + 0.75 * length / average)), rel=1e-5)


def test_top_k_and_queries_without_known_terms() -> None:
    index = make_index()
    assert ids(index.search("cat dog", top_k=2)) == ["both", "cats"]
    assert index.search("cat", top_k=0) == []
    assert index.search("unicorn") == []
    assert index.search("") == []
    assert BM25Index(words).search("cat") == []


def test_adds_replace_by_id_and_deletes_take_effect_at_the_next_search() -> None:
    index = make_index()
    assert index.delete(["cats", "missing"]) == 1
    assert ids(index.search("cat")) == ["cat", "both"]
    index.add([Document(id="cat", content="a parrot on a perch")])
    assert len(index) == 4
    assert ids(index.search("cat")) == ["both"]
    assert ids(index.search("parrot")) == ["cat"]
    index.add([Document(id="cats", content="cat cat cat")])
    assert ids(index.search("cat")) == ["cats", "both"]
    assert index.delete(["cats", "both", "cat", "dog", "fish"]) == 5
    assert index.search("cat") == []


def test_documents_need_ids_and_methods_are_checked() -> None:
    with pytest.raises(IndexStoreError, match="needs an id"):
        BM25Index(words).add([Document(content="no id")])
    with pytest.raises(ValueError, match="bm25l"):
        BM25Index(words, method="bm25l")


def test_filters_select_before_ranking_so_top_k_is_honoured() -> None:
    index = BM25Index(words)
    index.add(Document(id=f"strong{i}", content="cat cat cat", metadata={"lang": "en"}) for i in range(20))
    index.add(Document(id=f"weak{i}", content="cat " + "word " * 20, metadata={"lang": "zh"}) for i in range(3))
    found = index.search("cat", top_k=2, filters={"lang": "zh"})
    assert ids(found) == ["weak0", "weak1"]
    assert len(index.search("cat", top_k=5, filters={"lang": {"$in": ["zh", "fr"]}})) == 3
    assert len(index.search("cat", top_k=50, filters={"lang": {"$eq": "en"}})) == 20
    assert index.search("cat", filters={"lang": {"$in": []}}) == []
    assert index.search("cat", filters={"missing": "x"}) == []


def test_filter_values_compare_as_json() -> None:
    index = BM25Index(words)
    metadata = [{"v": 1}, {"v": 1.0}, {"v": True}, {"v": "1"}, {"v": [1]}, {"w": 1}]
    index.add(Document(id=str(i), content="cat", metadata=meta) for i, meta in enumerate(metadata))
    assert sorted(ids(index.search("cat", filters={"v": 1}))) == ["0", "1"]
    assert ids(index.search("cat", filters={"v": True})) == ["2"]
    assert ids(index.search("cat", filters={"v": "1", "w": 1})) == []
    assert sorted(ids(index.search("cat", filters={"v": {"$in": ["1", True]}}))) == ["2", "3"]


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"n": {"$gt": 1}}, "unknown filter operator '\\$gt'"),
        ({"$or": []}, "unknown filter operator '\\$or'"),
        ({"n": {"$in": "abc"}}, "takes a list"),
        ({"n": {"$eq": 1, "$in": [1]}}, "exactly one operator"),
        ({"n": [1, 2]}, "use a string, number or boolean"),
        ({"n": None}, "use a string, number or boolean"),
        ({"n": math.nan}, "not a JSON number"),
    ],
)
def test_bad_filters_are_refused(filters: dict[str, object], message: str) -> None:
    with pytest.raises(IndexStoreError, match=message):
        make_index().search("cat", filters=filters)


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    index = make_index(k1=1.2, b=0.5)
    index.save(tmp_path / "kb")
    loaded = BM25Index.load(tmp_path / "kb", analyzer=words)
    assert (loaded.k1, loaded.b, len(loaded)) == (1.2, 0.5, 5)
    for query in ("cat", "dog ball", "sea"):
        assert loaded.search(query) == index.search(query)
    loaded.add([Document(id="new", content="cat cat cat cat", metadata={"n": 9})])
    loaded.delete(["cats"])
    assert ids(loaded.search("cat", filters={"n": {"$in": [0, 9]}})) == ["new", "cat"]
    (tmp_path / "kb" / "bm25-0123").mkdir()  # the bm25s matrix an earlier version saved
    loaded.save(tmp_path / "kb")
    assert list((tmp_path / "kb").glob("bm25-*")) == []
    assert ids(BM25Index.load(tmp_path / "kb", words).search("cat")) == ["new", "cat", "both"]


def test_an_empty_index_saves_and_loads(tmp_path: Path) -> None:
    BM25Index(words).save(tmp_path)
    loaded = BM25Index.load(tmp_path, words)
    assert len(loaded) == 0 and loaded.search("cat") == []


def test_missing_or_corrupt_files_raise_index_store_errors(tmp_path: Path) -> None:
    with pytest.raises(IndexStoreError, match="no plait-bm25-index"):
        BM25Index.load(tmp_path / "nowhere", words)
    make_index().save(tmp_path)
    manifest = tmp_path / "index.json"
    good = json.loads(manifest.read_text())

    manifest.write_text(json.dumps({**good, "documents": good["documents"] * 2}))
    with pytest.raises(IndexStoreError, match="appears twice"):
        BM25Index.load(tmp_path, words)
    manifest.write_text(json.dumps({**good, "documents": [{"id": "x"}]}))
    with pytest.raises(IndexStoreError, match="corrupt"):
        BM25Index.load(tmp_path, words)
    manifest.write_text(json.dumps({**good, "version": 99}))
    with pytest.raises(IndexStoreError, match="not a version-1"):
        BM25Index.load(tmp_path, words)
    manifest.write_text(json.dumps(good)[:100])
    with pytest.raises(IndexStoreError, match="corrupt"):
        BM25Index.load(tmp_path, words)


def test_changes_cost_their_own_terms_and_scores_follow_the_live_documents() -> None:
    """Adding and deleting never rebuild: scores are those of an index built from scratch on the live set."""
    grown = BM25Index(words)
    for doc_id, text in CORPUS.items():
        grown.add([Document(id=doc_id, content=text)])
    grown.add([Document(id="gone", content="cat cat fish fish fish")])
    grown.delete(["gone"])
    fresh = BM25Index(words)
    fresh.add(Document(id=doc_id, content=text) for doc_id, text in CORPUS.items())
    for query in ("cat", "fish sea", "dog garden house"):
        expected = fresh.search(query)
        found = grown.search(query)
        assert ids(found) == ids(expected)
        assert [d.score for d in found] == pytest.approx([d.score for d in expected])


def test_many_deletions_compact_the_posting_lists() -> None:
    index = BM25Index(words)
    index.add(Document(id=f"d{i}", content=f"cat word{i}") for i in range(3000))
    index.delete(f"d{i}" for i in range(2500))
    assert len(index) == 500
    assert len(index._ids) == 500  # compacted: only live rows remain
    found = index.search("cat", top_k=1000)
    assert [d.id for d in found] == [f"d{i}" for i in range(2500, 3000)]
    assert ids(index.search("word2999")) == ["d2999"]
    assert index.search("word7") == []


def test_analyzed_documents_skip_the_analyzer() -> None:
    index = BM25Index(lambda text: text.split())
    index.add_analyzed([Document(id="a", content="Descaling kettles")], [["descal", "kettl"]])
    assert ids(index.search("kettl")) == ["a"]
    with pytest.raises(IndexStoreError, match="token lists"):
        index.add_analyzed([Document(id="b", content="x")], [])


def test_metadata_that_is_not_json_is_refused() -> None:
    index = BM25Index(words)
    for metadata in ({"when": object()}, {"x": math.inf}):
        with pytest.raises(IndexStoreError, match="metadata must be JSON"):
            index.add([Document(id="a", content="cat", metadata=metadata)])
    assert len(index) == 0


def test_searches_in_threads_see_a_consistent_index_while_it_changes() -> None:
    index = make_index()
    errors: list[BaseException] = []

    def search() -> None:
        try:
            for _ in range(200):
                for document in index.search("cat"):
                    assert "cat" in words(document.content)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=search) for _ in range(2)]
    for thread in threads:
        thread.start()
    for i in range(200):
        index.add([Document(id=f"extra{i % 7}", content=f"cat number {i}")])
        index.delete([f"extra{(i + 3) % 7}"])
    for thread in threads:
        thread.join()
    assert errors == []


def test_the_default_analyzer_is_plait_nlu_for_english_and_chinese(tmp_path: Path) -> None:
    index = BM25Index()
    index.add(
        [
            Document(id="en", content="Researchers were running experiments on gardens"),
            Document(id="zh", content="我们在北京大学学习自然语言处理"),
            Document(id="other", content="天气很好 and the weather is fine"),
        ]
    )
    assert [d.id for d in index.search("the researcher runs")] == ["en"]  # stemmed, stop words gone
    assert [d.id for d in index.search("自然语言")] == ["zh"]  # segmented by jieba
    index.save(tmp_path)
    assert [d.id for d in BM25Index.load(tmp_path).search("北京")] == ["zh"]
