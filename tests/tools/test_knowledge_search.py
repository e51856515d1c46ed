"""Knowledge search over a real knowledge base on disk, with the hashing embedder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from plait.components import Tool
from plait.embeddings.hashing import HashingEmbedder
from plait.knowledge.base import KnowledgeBase, retriever_for
from plait.knowledge.config import ChunkingConfig, KnowledgeBaseConfig
from plait.knowledge.retrievers import KeywordRetriever, VectorRetriever
from plait.schema import Document
from plait.tools.errors import InvalidArguments
from plait.tools.knowledge_search import MAX_QUERY_CHARS, KnowledgeSearch

CONFIG = KnowledgeBaseConfig(name="notes", chunking=ChunkingConfig(chunk_size=200, chunk_overlap=0))
DOCUMENTS = [
    Document(
        id="tides", content="Tides rise and fall because the moon pulls on the oceans.", metadata={"title": "tides"}
    ),
    Document(
        id="bread", content="Bread dough needs yeast, flour, water and time to rise.", metadata={"title": "bread"}
    ),
    Document(id="tea", content="Green tea and black tea both come from the leaves of the tea plant."),
    Document(id="rivers", content="Rivers carry sediment to the sea and build deltas at their mouths."),
]


@pytest.fixture
async def search(tmp_path: Path) -> AsyncIterator[KnowledgeSearch]:
    base = await KnowledgeBase.open(tmp_path / "kb", CONFIG, embedder=HashingEmbedder())
    records = await base.add_documents(DOCUMENTS)
    assert [record.status for record in records] == ["ready"] * len(DOCUMENTS)
    retriever = retriever_for(
        base.config.retrieval,
        "hybrid",
        keyword=KeywordRetriever(base.keywords),
        vector=VectorRetriever(base.vectors, base.embedder),
    )
    yield KnowledgeSearch(retriever, max_top_k=3, default_top_k=2)
    await base.close()


async def test_the_best_passage_comes_first_with_its_source(search: KnowledgeSearch) -> None:
    found = await search.call({"query": "why does the moon move the oceans?"})
    assert len(found) == 2
    best = found[0]
    assert "moon" in best["content"] and best["source"] == "tides"
    assert best["id"].startswith("tides#") and best["metadata"]["document_id"] == "tides"
    assert isinstance(best["score"], float) and best["score"] >= found[1]["score"]


async def test_top_k_is_honoured_and_bounded(search: KnowledgeSearch) -> None:
    assert len(await search.call({"query": "tea leaves", "top_k": 1})) == 1
    assert len(await search.call({"query": "tea leaves rivers bread tides", "top_k": 3})) == 3
    for bad in (0, 4, -1, "2", 1.5, True):
        with pytest.raises(InvalidArguments, match="top_k") as caught:
            await search.call({"query": "tea", "top_k": bad})
        assert caught.value.fields == ["top_k"]


@pytest.mark.parametrize("query", [None, "", "   ", 7, "x" * (MAX_QUERY_CHARS + 1)])
async def test_a_bad_query_is_refused(search: KnowledgeSearch, query: object) -> None:
    arguments = {} if query is None else {"query": query}
    with pytest.raises(InvalidArguments, match="query"):
        await search.call(arguments)


async def test_both_bad_arguments_are_named(search: KnowledgeSearch) -> None:
    with pytest.raises(InvalidArguments) as caught:
        await search.call({"query": "", "top_k": 99})
    assert caught.value.fields == ["query", "top_k"]


async def test_nothing_relevant_is_an_empty_list_or_weak_matches(search: KnowledgeSearch) -> None:
    found = await search.call({"query": "zzqxv"})
    assert isinstance(found, list) and len(found) <= 2


def test_the_spec_and_the_protocol(search: KnowledgeSearch) -> None:
    assert isinstance(search, Tool)
    assert search.spec.name == "search_knowledge"
    assert search.spec.parameters["required"] == ["query"]
    assert search.spec.parameters["properties"]["top_k"]["maximum"] == 3
    with pytest.raises(ValueError, match="default_top_k"):
        KnowledgeSearch(search.retriever, default_top_k=5, max_top_k=3)
