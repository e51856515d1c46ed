"""A knowledge base end to end: ingestion jobs, search modes, replacement, deletion, crash recovery."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from pathlib import Path

import pytest

from plait.embeddings.hashing import HashingEmbedder
from plait.knowledge.base import INTERRUPTED, KnowledgeBase
from plait.knowledge.config import ChunkingConfig, KnowledgeBaseConfig, RetrievalConfig
from plait.knowledge.errors import KnowledgeError
from plait.knowledge.manifest import DocumentRecord
from plait.schema import Document

CONFIG = KnowledgeBaseConfig(name="notes", chunking=ChunkingConfig(chunk_size=64, chunk_overlap=8))


@pytest.fixture
async def base(tmp_path: Path) -> KnowledgeBase:
    kb = await KnowledgeBase.open(tmp_path / "kb", CONFIG, embedder=HashingEmbedder())
    yield kb  # type: ignore[misc]
    await kb.close()


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("mode", ["keyword", "vector", "hybrid"])
async def test_added_files_are_searchable_in_every_mode(base: KnowledgeBase, tmp_path: Path, mode: str) -> None:
    files = [
        write(tmp_path, "tides.txt", "Tides rise and fall because the moon pulls on the oceans."),
        write(tmp_path, "bread.md", "# Baking\n\nBread dough needs yeast, flour, water and time to rise."),
        write(tmp_path, "tea.txt", "绿茶和红茶都来自茶树的叶子，加工方式不同。"),
    ]
    records = await base.add_files(files)
    assert [r.status for r in records] == ["ready", "ready", "ready"]
    assert all(r.chunk_count >= 1 and r.char_count > 0 for r in records)
    top = (await base.search("why does the moon move the oceans", mode=mode, top_k=1))[0]  # type: ignore[arg-type]
    assert top.metadata["document_name"] == "tides.txt"
    chinese = (await base.search("红茶", mode="keyword", top_k=1))[0]
    assert chinese.metadata["document_name"] == "tea.txt"


async def test_bad_files_fail_with_a_reason_and_the_batch_goes_on(base: KnowledgeBase, tmp_path: Path) -> None:
    good = write(tmp_path, "good.txt", "Plain text about rivers and deltas.")
    empty = write(tmp_path, "empty.txt", "")
    binary = tmp_path / "data.exe"
    binary.write_bytes(b"MZ\x00\x01")
    records = await base.add_files([good, empty, binary, tmp_path / "missing.txt"])
    assert [r.status for r in records] == ["ready", "failed", "failed", "failed"]
    assert "empty" in records[1].error.lower()
    assert ".exe" in records[2].error
    assert records[3].error
    listed = {r.name: r.status for r in await base.documents()}
    assert listed == {"good.txt": "ready", "empty.txt": "failed", "data.exe": "failed", "missing.txt": "failed"}


async def test_progress_reports_each_stage(base: KnowledgeBase, tmp_path: Path) -> None:
    seen: list[str] = []

    def progress(record: DocumentRecord) -> None:
        if not seen or seen[-1] != record.status:
            seen.append(record.status)

    await base.add_files([write(tmp_path, "a.txt", "alpha beta gamma")], on_progress=progress)
    assert seen == ["queued", "parsing", "chunking", "embedding", "indexing", "ready"]


async def test_re_ingesting_a_changed_document_replaces_its_chunks(base: KnowledgeBase, tmp_path: Path) -> None:
    path = write(tmp_path, "policy.txt", "Refunds are accepted within thirty days.")
    (first,) = await base.add_files([path])
    path.write_text("Exchanges are accepted within ninety days.", encoding="utf-8")
    (second,) = await base.add_files([path])
    assert first.id == second.id
    assert len(await base.documents()) == 1
    assert not await base.search("refunds thirty", mode="keyword")
    assert (await base.search("exchanges ninety", mode="keyword"))[0].metadata["document_id"] == first.id
    assert await base.vectors.count() == second.chunk_count


async def test_deleting_a_document_removes_it_from_every_index(base: KnowledgeBase, tmp_path: Path) -> None:
    (record,) = await base.add_files([write(tmp_path, "gone.txt", "Volcanoes erupt molten rock.")])
    assert await base.delete_document(record.id)
    assert not await base.delete_document(record.id)
    for mode in ("keyword", "vector", "hybrid"):
        assert not await base.search("volcanoes", mode=mode)  # type: ignore[arg-type]
    assert await base.vectors.count() == 0
    assert await base.documents() == []


async def test_a_failing_embedder_leaves_nothing_half_indexed(tmp_path: Path) -> None:
    class Broken(HashingEmbedder):
        async def embed(self, texts: list[str]) -> list[list[float]]:  # type: ignore[override]
            raise RuntimeError("embedding service down")

    kb = await KnowledgeBase.open(tmp_path / "kb", CONFIG, embedder=Broken())
    try:
        (record,) = await kb.add_documents([Document(id="d1", content="some text about comets")])
        assert record.status == "failed"
        assert "embedding service down" in record.error
        assert not await kb.search("comets", mode="keyword")
        assert await kb.vectors.count() == 0
    finally:
        await kb.close()


async def test_a_process_crash_mid_ingestion_is_cleaned_up_on_open(tmp_path: Path) -> None:
    folder = tmp_path / "kb"
    kb = await KnowledgeBase.open(folder, CONFIG, embedder=HashingEmbedder())
    await kb.add_documents([Document(id="kept", content="glaciers carve valleys")])
    await kb.close()
    crash = textwrap.dedent(
        f"""
        import asyncio, os
        from plait.embeddings.hashing import HashingEmbedder
        from plait.knowledge.base import KnowledgeBase
        from plait.knowledge.index.bm25 import BM25Index
        from plait.schema import Document

        def die(self, path):
            os._exit(3)  # the process dies after the vectors were written, before the BM25 save and the commit

        BM25Index.save = die

        async def main():
            kb = await KnowledgeBase.open({str(folder)!r}, embedder=HashingEmbedder())
            await kb.add_documents([Document(id="lost", content="dunes migrate with the wind")])

        asyncio.run(main())
        """
    )
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", crash, stderr=asyncio.subprocess.PIPE)
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 3, stderr.decode()
    kb = await KnowledgeBase.open(folder, embedder=HashingEmbedder())
    try:
        lost = await kb.document("lost")
        assert lost is not None
        assert (lost.status, lost.error) == ("failed", INTERRUPTED)
        for mode in ("keyword", "vector", "hybrid"):
            assert all(d.metadata["document_id"] == "kept" for d in await kb.search("dunes wind", mode=mode))  # type: ignore[arg-type]
        assert await kb.vectors.count() == 1
    finally:
        await kb.close()


async def test_a_base_reopens_with_its_config_and_indexes(tmp_path: Path) -> None:
    folder = tmp_path / "kb"
    config = KnowledgeBaseConfig(name="persisted", retrieval=RetrievalConfig(mode="keyword", top_k=2))
    kb = await KnowledgeBase.open(folder, config, embedder=HashingEmbedder())
    await kb.add_documents([Document(id=str(i), content=f"topic number {i} about lakes") for i in range(5)])
    await kb.close()
    reopened = await KnowledgeBase.open(folder, embedder=HashingEmbedder())
    try:
        assert reopened.config == config
        assert len(await reopened.search("lakes")) == 2
    finally:
        await reopened.close()


async def test_config_and_open_errors(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match="no knowledge base"):
        await KnowledgeBase.open(tmp_path / "nothing", embedder=HashingEmbedder())
    with pytest.raises(KnowledgeError, match="invalid knowledge base name"):
        KnowledgeBaseConfig(name="a/b")
    with pytest.raises(KnowledgeError, match="chunk_overlap"):
        ChunkingConfig(chunk_size=64, chunk_overlap=64)
    with pytest.raises(KnowledgeError, match="weights"):
        RetrievalConfig(weights=(0.0, 0.0))
