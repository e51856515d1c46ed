"""Vector stores: one contract for the embedded store, pgvector and Milvus, and the same ranking from all three."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from plait.knowledge.errors import IndexStoreError
from plait.knowledge.index.milvus import MilvusStore
from plait.knowledge.index.pgvector import PgVectorStore, search_sql
from plait.knowledge.index.vectors import ExactVectorStore, VectorStore
from plait.schema import Document

DIM = 16
KINDS = ["exact", "exact-on-disk", "pgvector", "milvus"]
StoreFactory = Callable[..., VectorStore]


def unit(rows: int, seed: int, dimension: int = DIM) -> npt.NDArray[np.float32]:
    vectors = np.random.default_rng(seed).standard_normal((rows, dimension)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def names(folder: Path) -> list[str]:
    return sorted(entry.name for entry in folder.iterdir())


def one_hot(i: int, scale: float = 1.0) -> list[float]:
    vector = [0.0] * DIM
    vector[i] = scale
    return vector


@pytest.fixture
async def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreFactory]:
    """Builds stores of the test's kind; a second call with the same name reopens the same data."""
    kind: str = request.param
    opened: list[VectorStore] = []
    prefix = f"t{uuid.uuid4().hex[:8]}"

    def factory(name: str = "kb", dimension: int = DIM, **options: bool) -> VectorStore:
        store: VectorStore
        if kind == "exact":
            store = ExactVectorStore(dimension=dimension)
        elif kind == "exact-on-disk":
            store = ExactVectorStore(tmp_path / name, dimension=dimension)
        elif kind == "pgvector":
            uri = request.getfixturevalue("postgres_uri")
            store = PgVectorStore(uri, f"{prefix}_{name}", dimension, **options)
        else:
            store = MilvusStore(str(tmp_path / "milvus.db"), f"{prefix}_{name}", dimension)
        opened.append(store)
        return store

    yield factory
    for store in opened:
        await store.close()


every_store = pytest.mark.parametrize("make_store", KINDS, indirect=True)


@every_store
async def test_upsert_search_count_delete(make_store: StoreFactory) -> None:
    store = make_store()
    assert await store.count() == 0
    assert await store.search(one_hot(0)) == []
    await store.upsert(
        ["a", "b", "c"],
        [one_hot(0, 3.0), [0.6, 0.8] + [0.0] * (DIM - 2), one_hot(2)],
        contents=["alpha", "beta", "gamma"],
        metadata=[{"group": "x"}, {"group": "y", "n": 2}, {}],
    )
    assert await store.count() == 3
    found = await store.search(np.array(one_hot(0)), top_k=2)
    assert [(d.id, d.content, d.metadata) for d in found] == [
        ("a", "alpha", {"group": "x"}),
        ("b", "beta", {"group": "y", "n": 2}),
    ]
    assert [d.score for d in found] == pytest.approx([1.0, 0.6], abs=1e-6)  # cosine, whatever the length

    await store.upsert(["a"], [one_hot(1)], contents=["alpha 2"], metadata=[{"group": "z"}])
    assert await store.count() == 3
    [best] = await store.search(one_hot(1), top_k=1)
    assert (best.id, best.content, best.metadata) == ("a", "alpha 2", {"group": "z"})

    await store.delete(["a", "missing"])
    assert await store.count() == 2
    assert [d.id for d in await store.search(one_hot(1), top_k=5)] == ["b", "c"]
    await store.delete([])
    assert await store.search(one_hot(1), top_k=0) == []


@every_store
async def test_filters_select_before_top_k(make_store: StoreFactory) -> None:
    store = make_store()
    vectors = unit(60, seed=1)
    metadata = [
        {"group": ["a", "b", "c"][i % 3], "i": i, "even": i % 2 == 0, "lang": "中文" if i < 5 else "en"}
        for i in range(60)
    ]
    await store.upsert([f"d{i}" for i in range(60)], vectors, metadata=metadata)
    query = vectors[0]

    found = await store.search(query, top_k=4, filters={"group": "b"})
    assert len(found) == 4 and {d.metadata["group"] for d in found} == {"b"}
    found = await store.search(query, top_k=50, filters={"group": {"$in": ["a", "c"]}, "even": True})
    assert sorted(int(d.id[1:]) for d in found) == [i for i in range(60) if i % 3 != 1 and i % 2 == 0]
    assert [d.id for d in await store.search(query, top_k=3, filters={"i": 7.0})] == ["d7"]
    assert await store.search(query, filters={"even": 1}) == []  # a boolean is not a number
    assert len(await store.search(query, top_k=10, filters={"lang": {"$eq": "中文"}})) == 5
    assert await store.search(query, filters={"group": {"$in": []}}) == []
    assert await store.search(query, filters={"nowhere": "x"}) == []
    with pytest.raises(IndexStoreError, match="unknown filter operator"):
        await store.search(query, filters={"i": {"$lt": 3}})


AWKWARD = ['it\'s "quoted"', "back\\slash", "line\nbreak\ttab\r", "bell\x07", "中文 ünï", 'a" or 1 == 1 or "']


@every_store
async def test_filter_keys_and_values_need_no_escaping_by_the_caller(make_store: StoreFactory) -> None:
    store = make_store()
    await store.upsert(
        [f"d{i}" for i in range(len(AWKWARD))],
        unit(len(AWKWARD), seed=4),
        metadata=[{text: "key", "value": text} for text in AWKWARD],
    )
    for i, text in enumerate(AWKWARD):
        assert [d.id for d in await store.search(one_hot(0), filters={"value": text})] == [f"d{i}"]
        assert [d.id for d in await store.search(one_hot(0), filters={text: "key"})] == [f"d{i}"]


@every_store
async def test_dimensions_and_batches_are_checked(make_store: StoreFactory) -> None:
    store = make_store()
    with pytest.raises(IndexStoreError, match="dimension"):
        await store.upsert(["a"], [[1.0, 0.0]])
    with pytest.raises(IndexStoreError, match="dimension"):
        await store.search([1.0] * (DIM + 1))
    with pytest.raises(IndexStoreError, match="zero"):
        await store.upsert(["a"], [[0.0] * DIM])
    with pytest.raises(IndexStoreError, match="2 ids, 1 vectors"):
        await store.upsert(["a", "b"], [one_hot(0)])
    with pytest.raises(IndexStoreError, match="unique"):
        await store.upsert(["a", "a"], [one_hot(0), one_hot(1)])
    with pytest.raises(IndexStoreError, match="metadata must be JSON"):
        await store.upsert(["a"], [one_hot(0)], metadata=[{"when": object()}])
    with pytest.raises(IndexStoreError, match="numbers of one length"):
        await store.upsert(["a", "b"], [one_hot(0), [1.0]])
    assert await store.count() == 0


@pytest.mark.parametrize("make_store", ["exact-on-disk", "pgvector", "milvus"], indirect=True)
async def test_data_outlives_the_store_object_and_dimensions_must_match(make_store: StoreFactory) -> None:
    first = make_store("kb")
    await first.upsert(["a", "b"], [one_hot(0), one_hot(1)], contents=["x", "y"], metadata=[{"k": 1}, {"k": 2}])
    await first.delete(["b"])
    await first.close()
    again = make_store("kb")
    assert await again.count() == 1
    [hit] = await again.search(one_hot(0), top_k=5)
    assert (hit.id, hit.content, hit.metadata) == ("a", "x", {"k": 1})
    with pytest.raises(IndexStoreError, match="holds vectors of 16, not 8"):
        await make_store("kb", dimension=8).count()


async def test_the_embedded_store_writes_atomically_and_reports_corrupt_files(tmp_path: Path) -> None:
    store = ExactVectorStore(tmp_path, dimension=DIM)
    await store.upsert(["a"], [one_hot(0)])
    await store.upsert(["b"], [one_hot(1)])
    manifest = json.loads((tmp_path / "store.json").read_text())
    assert names(tmp_path) == ["store.json", Path(manifest["vectors"]).name]  # no older arrays, no temporaries

    (tmp_path / "store.json").write_text("{broken")
    with pytest.raises(IndexStoreError, match="corrupt"):
        await ExactVectorStore(tmp_path, dimension=DIM).count()
    (tmp_path / "store.json").write_text(json.dumps({**manifest, "ids": ["a"]}))
    with pytest.raises(IndexStoreError, match="disagree"):
        await ExactVectorStore(tmp_path, dimension=DIM).count()
    (tmp_path / "store.json").write_text(json.dumps(manifest))
    (tmp_path / manifest["vectors"]).unlink()
    with pytest.raises(IndexStoreError, match="corrupt"):
        await ExactVectorStore(tmp_path, dimension=DIM).search(one_hot(0))


async def test_pgvector_can_add_an_hnsw_index(postgres_uri: str) -> None:
    store = PgVectorStore(postgres_uri, f"t{uuid.uuid4().hex[:8]}_hnsw", DIM, hnsw=True)
    try:
        vectors = unit(200, seed=2)
        await store.upsert([f"d{i}" for i in range(200)], vectors, metadata=[{"group": i % 20} for i in range(200)])
        found = await store.search(vectors[5], top_k=60)
        assert found[0].id == "d5" and len(found) == 60  # ef_search follows top_k past its default of 40
        found = await store.search(vectors[5], top_k=8, filters={"group": 3})
        assert len(found) == 8 and {d.metadata["group"] for d in found} == {3}
        assert f"Index Scan using {store.table}_embedding_hnsw" in await plan(postgres_uri, store, vectors[5])
    finally:
        await store.close()


async def plan(uri: str, store: PgVectorStore, query: npt.NDArray[np.float32]) -> str:
    """The plan of the store's search where a table scan is the last resort, as on a table too big to scan."""
    import asyncpg  # type: ignore[import-untyped]
    from pgvector.asyncpg import register_vector

    connection = await asyncpg.connect(uri)
    try:
        await register_vector(connection)
        await connection.execute("SET enable_seqscan = off")
        rows = await connection.fetch("EXPLAIN " + search_sql(store.table, "", hnsw=True), query, 8)
        return "\n".join(row[0] for row in rows)
    finally:
        await connection.close()


def test_store_names_are_checked() -> None:
    with pytest.raises(ValueError, match="identifier"):
        PgVectorStore("postgresql://", 'kb"; drop table x', DIM)
    with pytest.raises(ValueError, match="collection name"):
        MilvusStore("milvus.db", "kb-1", DIM)
    with pytest.raises(ValueError, match="dimension"):
        ExactVectorStore(dimension=0)


async def test_every_store_returns_the_same_ranking(tmp_path: Path, postgres_uri: str) -> None:
    count = 500
    vectors = unit(count, seed=3)
    ids = [f"doc-{i}" for i in range(count)]
    metadata = [{"group": ["a", "b", "c", "d"][i % 4], "i": i} for i in range(count)]
    stores: list[VectorStore] = [
        ExactVectorStore(dimension=DIM),
        PgVectorStore(postgres_uri, f"t{uuid.uuid4().hex[:8]}_same", DIM),
        MilvusStore(str(tmp_path / "milvus.db"), "same", DIM),
    ]
    try:
        for store in stores:
            await store.upsert(ids, vectors, contents=[f"text {i}" for i in range(count)], metadata=metadata)
        for seed, filters in [(10, None), (11, None), (12, {"group": {"$in": ["b", "d"]}}), (13, {"group": "c"})]:
            query = unit(1, seed=seed)[0]
            results: list[list[Document]] = [await store.search(query, top_k=20, filters=filters) for store in stores]
            reference = results[0]
            assert len(reference) == 20
            for other in results[1:]:
                assert [d.id for d in other] == [d.id for d in reference]
                assert [d.score for d in other] == pytest.approx([d.score for d in reference], abs=1e-4)
                assert [(d.content, d.metadata) for d in other] == [(d.content, d.metadata) for d in reference]
    finally:
        for store in stores:
            await store.close()
