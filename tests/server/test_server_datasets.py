"""The dataset and document endpoints as the unmodified cozepy SDK drives them, on SQLite and PostgreSQL, and
the retrieval the chat runtime calls (``search_datasets``) over what they ingested, from an index of its own
(as another worker's), loaded from the database.

The module's server runs with small dataset caps and web pages allowed from loopback (set in its environment
before the server starts), so caps and fetching can be tested."""

from __future__ import annotations

import base64
import http.server
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from cozepy import Coze, CozeAPIError
from cozepy.datasets import DocumentProgress
from cozepy.datasets.documents import (
    DocumentBase,
    DocumentChunkStrategy,
    DocumentFormatType,
    DocumentSourceInfo,
    DocumentUpdateRule,
)
from server_harness import MAX_BODY, Running
from sqlalchemy import func, select

from plait.platform.dataset_indexes import INTERRUPTED, DatasetIndexes
from plait.platform.datasets import search_datasets
from plait.settings import Settings
from plait.store import Database
from plait.store.tables import Dataset, DatasetDocument
from plait.store.tables.knowledge import DatasetChunk

MAX_ROWS, MAX_CHUNKS, MAX_DATASET_CHUNKS = 50, 40, 60
LIMITS = {
    "PLAIT_DATASET_MAX_DOCUMENT_ROWS": str(MAX_ROWS),
    "PLAIT_DATASET_MAX_DOCUMENT_CHUNKS": str(MAX_CHUNKS),
    "PLAIT_DATASET_MAX_CHUNKS": str(MAX_DATASET_CHUNKS),
    "PLAIT_WEB_URL_ALLOWED_NETWORKS": "127.0.0.0/8,::1",
}
GUIDE = "# Kettle guide\n\nDescale the kettle with citric acid every month.\n\n## Safety\n\nUnplug it before cleaning."
NOTES = "Bicycle chains need oil after rain. Clean the chain with a rag first."


@pytest.fixture(scope="module", autouse=True)
def _limits() -> Iterator[None]:
    """Caps and web networks for this module's server, which reads them from the environment (autouse: set
    before the server fixture starts it)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in LIMITS.items():
            patch.setenv(name, value)
        yield


@pytest.fixture(scope="module")
def other(server: Running) -> Coze:
    """A key of another workspace's owner (made here: the CLI cannot run inside an async test's loop)."""
    return server.coze(server.make_key("--workspace", "Team B"))


@pytest.fixture
async def database(server: Running) -> AsyncIterator[Database]:
    """The server's database, as the chat runtime holds it."""
    settings = Settings.load(data_dir=Path(server.env["PLAIT_DATA_DIR"]), database_url=server.env["PLAIT_DATABASE_URL"])
    opened = Database(settings.database_url)
    try:
        yield opened
    finally:
        await opened.dispose()


@pytest.fixture
async def indexes(server: Running, database: Database) -> AsyncIterator[DatasetIndexes]:
    """Indexes over the server's database (the server's own live in its process's services, out of reach)."""
    root = Path(server.env["PLAIT_DATA_DIR"]) / "datasets"
    opened = DatasetIndexes(root, database, max_bytes=MAX_BODY, idle_seconds=600)
    try:
        yield opened
    finally:
        await opened.close()


def _text(content: str, file_type: str = "txt") -> DocumentSourceInfo:
    return DocumentSourceInfo(file_base64=base64.b64encode(content.encode()).decode(), file_type=file_type)


def _wait(coze: Coze, dataset_id: str, document_ids: list[str]) -> list[DocumentProgress]:
    """Poll ``datasets.process`` as a client does until no document is processing."""
    deadline = time.monotonic() + 30
    while True:
        progress = list(coze.datasets.process(dataset_id=dataset_id, document_ids=document_ids))
        if all(p.status != 0 for p in progress) or time.monotonic() > deadline:
            return progress
        time.sleep(0.05)


def _code(call: Callable[[], object]) -> tuple[int, str]:
    with pytest.raises(CozeAPIError) as error:
        call()
    assert error.value.code is not None
    return error.value.code, error.value.msg


def _dataset(coze: Coze, space_id: str, name: str = "Manuals") -> str:
    return coze.datasets.create(name=name, space_id=space_id, format_type=DocumentFormatType.DOCUMENT).dataset_id


async def _chunks(database: Database, dataset_id: str) -> int:
    async with database.unit_of_work() as uow:
        query = select(func.count()).select_from(DatasetChunk).where(DatasetChunk.dataset_id == dataset_id)
        return int(await uow.session.scalar(query) or 0)


async def test_dataset_lifecycle(coze: Coze, space_id: str, database: Database) -> None:
    dataset_id = _dataset(coze, space_id, "Kitchen")
    assert dataset_id.isdigit()
    listed = coze.datasets.list(space_id=space_id, name="Kitch").items
    assert [(d.dataset_id, d.name, d.space_id, d.status, d.doc_count, d.can_edit) for d in listed] == [
        (dataset_id, "Kitchen", space_id, 1, 0, True)
    ]
    coze.datasets.update(dataset_id=dataset_id, name="Kitchen 2", description="appliances")
    (updated,) = coze.datasets.list(space_id=space_id, name="Kitchen 2").items
    assert (updated.name, updated.description) == ("Kitchen 2", "appliances")

    created = coze.datasets.documents.create(
        dataset_id=dataset_id, document_bases=[DocumentBase(name="guide", source_info=_text(GUIDE, "md"))]
    )
    (progress,) = _wait(coze, dataset_id, [created[0].document_id])
    assert progress.status == 1
    async with database.unit_of_work() as uow:
        row = await uow.session.get(Dataset, dataset_id)
        assert row is not None and row.config["embedder"] == "hashing"
        assert (row.index_version, row.chunk_count) == (
            1,
            coze.datasets.documents.list(dataset_id=dataset_id).items[0].slice_count,
        )
    assert await _chunks(database, dataset_id) == row.chunk_count > 0
    coze.datasets.delete(dataset_id=dataset_id)
    assert coze.datasets.list(space_id=space_id, name="Kitchen").items == []
    assert await _chunks(database, dataset_id) == 0  # the chunks went with the dataset
    assert _code(lambda: coze.datasets.delete(dataset_id=dataset_id))[0] == 4200


def test_ingest_list_update_delete_documents(coze: Coze, space_id: str, tmp_path: Path) -> None:
    dataset_id = _dataset(coze, space_id, "Ingest")
    path = tmp_path / "bikes.md"
    path.write_text(NOTES)
    with path.open("rb") as handle:
        file_id = coze.files.upload(file=handle).id
    created = coze.datasets.documents.create(
        dataset_id=dataset_id,
        document_bases=[
            DocumentBase(name="guide.md", source_info=_text(GUIDE, "md")),
            DocumentBase(name="bikes", source_info=DocumentSourceInfo.build_file_id(file_id)),
        ],
        chunk_strategy=DocumentChunkStrategy.build_custom(max_tokens=200, separator="\n\n", remove_extra_spaces=True),
    )
    assert [(d.name, d.status, d.type, d.source_type) for d in created] == [
        ("guide.md", 0, "md", 0),
        ("bikes", 0, "md", 5),
    ]
    ids = [d.document_id for d in created]
    progress = _wait(coze, dataset_id, ids)
    assert [(p.document_id, p.status, p.progress) for p in progress] == [(ids[0], 1, 100), (ids[1], 1, 100)]

    documents = coze.datasets.documents.list(dataset_id=dataset_id).items
    assert [d.document_id for d in documents] == ids
    assert all(d.slice_count >= 1 and d.char_count > 0 and d.status == 1 for d in documents)
    assert documents[0].size == len(GUIDE.encode())
    (dataset,) = coze.datasets.list(space_id=space_id, name="Ingest").items
    assert dataset.doc_count == 2 and dataset.slice_count == sum(d.slice_count for d in documents)
    assert dataset.chunk_strategy is not None and dataset.chunk_strategy.max_tokens == 200

    coze.datasets.documents.update(document_id=ids[1], document_name="Bicycle care")
    assert [d.name for d in coze.datasets.documents.list(dataset_id=dataset_id).items] == ["guide.md", "Bicycle care"]
    # The same strategy again, or none, is fine; the first upload fixed it.
    again = coze.datasets.documents.create(
        dataset_id=dataset_id, document_bases=[DocumentBase(name="more", source_info=_text("Teapots too."))]
    )
    coze.datasets.documents.delete(document_ids=[ids[0], again[0].document_id])
    assert [d.document_id for d in coze.datasets.documents.list(dataset_id=dataset_id).items] == [ids[1]]


def test_failed_document_reports_why_in_words_for_the_client(coze: Coze, space_id: str, tmp_path: Path) -> None:
    """The reason names the problem, never the exception's text: no file path, no library message."""
    dataset_id = _dataset(coze, space_id, "Broken")
    path = tmp_path / "scan.pdf"
    path.write_bytes(b"%PDF-1.4 not really")
    with path.open("rb") as handle:
        file_id = coze.files.upload(file=handle).id
    created = coze.datasets.documents.create(
        dataset_id=dataset_id,
        document_bases=[
            DocumentBase(name="fake.pdf", source_info=_text("not a pdf at all", "pdf")),
            DocumentBase(name="scan", source_info=DocumentSourceInfo.build_file_id(file_id)),
            DocumentBase(name="blank", source_info=_text("   \n\n  ")),
            DocumentBase(name="fine", source_info=_text(NOTES)),
        ],
    )
    fake, scan, blank, fine = _wait(coze, dataset_id, [d.document_id for d in created])
    for failed in (fake, scan):
        assert (failed.status, failed.status_descript) == (
            9,
            "the file could not be read as pdf: it is damaged, or not a pdf file",
        )
    assert (blank.status, blank.status_descript) == (9, "no text found in the document")
    assert (fine.status, fine.status_descript) == (1, "")


def _csv(rows: int) -> str:
    return "question,answer\n" + "".join(f"q{i},answer number {i}\n" for i in range(rows))


def test_caps_on_records_and_chunks(coze: Coze, space_id: str, tmp_path: Path) -> None:
    """Known up front, a cap is a 4000 of the request; found while ingesting, the document fails with it."""
    dataset_id = _dataset(coze, space_id, "Capped")
    documents = coze.datasets.documents
    code, msg = _code(
        lambda: documents.create(
            dataset_id=dataset_id,
            document_bases=[DocumentBase(name="big", source_info=_text(_csv(MAX_ROWS + 1), "csv"))],
        )
    )
    assert code == 4000 and f"at most {MAX_ROWS}" in msg
    lines = tmp_path / "lines.jsonl"
    lines.write_text("".join(f'{{"text": "line {i}"}}\n' for i in range(MAX_ROWS + 1)))
    long = tmp_path / "long.txt"
    long.write_text("\n\n".join(f"Paragraph {i}. " + "kettle descaling words " * 90 for i in range(MAX_CHUNKS + 5)))
    file_ids = []
    for path in (lines, long):
        with path.open("rb") as handle:
            file_ids.append(coze.files.upload(file=handle).id)
    created = documents.create(
        dataset_id=dataset_id,
        document_bases=[
            DocumentBase(name="lines", source_info=DocumentSourceInfo.build_file_id(file_ids[0])),
            DocumentBase(name="long", source_info=DocumentSourceInfo.build_file_id(file_ids[1])),
            DocumentBase(name="first", source_info=_text(_csv(35), "csv")),
            DocumentBase(name="second", source_info=_text(_csv(30), "csv")),
        ],
    )
    lines_doc, long_doc, first, second = _wait(coze, dataset_id, [d.document_id for d in created])
    assert lines_doc.status == 9 and f"more than {MAX_ROWS} records" in lines_doc.status_descript
    assert long_doc.status == 9 and f"more than {MAX_CHUNKS} chunks" in long_doc.status_descript
    assert first.status == 1
    assert second.status == 9 and f"{MAX_DATASET_CHUNKS} chunks in all" in second.status_descript
    (dataset,) = coze.datasets.list(space_id=space_id, name="Capped").items
    assert dataset.slice_count == 35


class _Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html><head><title>Tea</title></head><body><p>Green tea wants water at 80 C.</p></body></html>"
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def page_url() -> Iterator[str]:
    """A web page on loopback, which this module's server may fetch from."""
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Page) as httpd:
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{httpd.server_address[1]}/tea.html"
        finally:
            httpd.shutdown()
            thread.join()


def test_web_pages_from_allowed_networks_only(coze: Coze, space_id: str, page_url: str) -> None:
    dataset_id = _dataset(coze, space_id, "Web")
    created = coze.datasets.documents.create(
        dataset_id=dataset_id,
        document_bases=[DocumentBase(name="tea", source_info=DocumentSourceInfo.build_web_page(page_url))],
    )
    assert (created[0].source_type, created[0].type) == (1, "web")
    (progress,) = _wait(coze, dataset_id, [created[0].document_id])
    assert (progress.status, progress.url) == (1, page_url), progress.status_descript
    for url, words in (
        ("http://10.0.0.1/", "10.0.0.1, outside the networks"),
        ("http://[fd00::1]/", "outside the networks"),
        ("http://no-such-host.invalid/", "cannot resolve"),
        ("ftp://127.0.0.1/x", "http or https"),
    ):
        base = DocumentBase(name="far", source_info=DocumentSourceInfo.build_web_page(url))
        code, msg = _code(
            lambda base=base: coze.datasets.documents.create(dataset_id=dataset_id, document_bases=[base])
        )
        assert (code, words in msg) == (4000, True), msg
    # Allowed at the request, refused by the fetch: nothing listens there.
    closed = DocumentBase(name="closed", source_info=DocumentSourceInfo.build_web_page("http://127.0.0.1:9/"))
    created = coze.datasets.documents.create(dataset_id=dataset_id, document_bases=[closed])
    (progress,) = _wait(coze, dataset_id, [created[0].document_id])
    assert progress.status == 9 and progress.status_descript.startswith("the web page could not be fetched")


async def test_search_datasets(
    coze: Coze, other: Coze, space_id: str, database: Database, indexes: DatasetIndexes
) -> None:
    kettles, bikes = _dataset(coze, space_id, "Kettles"), _dataset(coze, space_id, "Bikes")
    first = coze.datasets.documents.create(
        dataset_id=kettles, document_bases=[DocumentBase(name="kettle.md", source_info=_text(GUIDE, "md"))]
    )
    second = coze.datasets.documents.create(
        dataset_id=bikes, document_bases=[DocumentBase(name="bikes.txt", source_info=_text(NOTES))]
    )
    _wait(coze, kettles, [first[0].document_id])
    _wait(coze, bikes, [second[0].document_id])
    foreign = _dataset(other, other.workspaces.list().items[0].id, "Foreign")

    async with database.unit_of_work() as uow:
        for strategy in (0, 1, 20):
            found = await search_datasets(
                uow,
                space_id,
                [kettles, bikes, foreign, "404"],
                "descale kettle citric acid",
                indexes=indexes,
                strategy=strategy,
            )
            assert found, strategy
            assert found[0].metadata["dataset_id"] == kettles and found[0].metadata["document_name"] == "kettle.md"
            assert found[0].score is not None
            assert [f.score for f in found] == sorted((f.score or 0 for f in found), reverse=True)
        chain = await search_datasets(uow, space_id, [kettles, bikes], "bicycle chain oil", indexes=indexes, top_k=1)
        assert [(c.metadata["dataset_id"], c.metadata["document_id"]) for c in chain] == [
            (bikes, second[0].document_id)
        ]
        assert await search_datasets(uow, space_id, [foreign], "kettle", indexes=indexes) == []
        assert await search_datasets(uow, "0", [kettles], "kettle", indexes=indexes) == []  # another workspace
        with pytest.raises(Exception, match="search_strategy"):
            await search_datasets(uow, space_id, [kettles], "kettle", indexes=indexes, strategy=7)

    coze.datasets.documents.delete(document_ids=[first[0].document_id])
    async with database.unit_of_work() as uow:
        assert await search_datasets(uow, space_id, [kettles], "descale kettle", indexes=indexes, strategy=20) == []
    indexes.idle_seconds = 0
    indexes.evict_idle()
    assert indexes._indexes == {}  # dropped when idle, loaded again by the next search
    async with database.unit_of_work() as uow:
        chain = await search_datasets(uow, space_id, [kettles, bikes], "bicycle chain oil", indexes=indexes, top_k=1)
    assert [c.metadata["document_id"] for c in chain] == [second[0].document_id]


async def test_recovery_fails_only_documents_whose_process_is_gone(
    server: Running, coze: Coze, space_id: str, database: Database, indexes: DatasetIndexes
) -> None:
    """A document whose lease ran out (or that never had one) is failed; one another live process holds is not."""
    dataset_id = _dataset(coze, space_id, "Restart")
    now = int(time.time())
    leases = {"none": (None, None), "expired": ("f" * 32, now - 1), "live": ("a" * 32, now + 60)}
    async with database.unit_of_work() as uow:
        rows = {
            name: await uow.documents.add(
                DatasetDocument(
                    workspace_id=space_id,
                    dataset_id=dataset_id,
                    name=name,
                    source={},
                    update_rule={},
                    lease_owner=owner,
                    lease_until=until,
                )
            )
            for name, (owner, until) in leases.items()
        }
    old_folders = indexes.root / "1234567890"  # what servers before the database-backed indexes kept
    old_folders.mkdir(parents=True)
    await indexes.recover()
    progress = coze.datasets.process(dataset_id=dataset_id, document_ids=[row.id for row in rows.values()])
    assert [(p.status, p.status_descript) for p in progress] == [(9, INTERRUPTED), (9, INTERRUPTED), (0, "")]
    assert not indexes.root.exists()
    coze.datasets.delete(dataset_id=dataset_id)


def test_bad_input(server: Running, token: str, coze: Coze, space_id: str) -> None:
    dataset_id = _dataset(coze, space_id, "Strict")
    documents = coze.datasets.documents

    def create(*bases: DocumentBase, **options: object) -> Callable[[], object]:
        return lambda: documents.create(dataset_id=dataset_id, document_bases=list(bases), **options)  # type: ignore[arg-type]

    good = DocumentBase(name="ok", source_info=_text(NOTES))
    cases: list[tuple[Callable[[], object], int, str]] = [
        (
            lambda: coze.datasets.create(name=" ", space_id=space_id, format_type=DocumentFormatType.DOCUMENT),
            4000,
            "name",
        ),
        (
            lambda: coze.datasets.create(name="x" * 101, space_id=space_id, format_type=DocumentFormatType.DOCUMENT),
            4000,
            "name",
        ),
        (
            lambda: coze.datasets.create(name="img", space_id=space_id, format_type=DocumentFormatType.IMAGE),
            4000,
            "format_type",
        ),
        (
            lambda: coze.datasets.create(name="x", space_id="42", format_type=DocumentFormatType.DOCUMENT),
            4200,
            "workspace",
        ),
        (lambda: coze.datasets.create(name="x", space_id=space_id, format_type=0, icon_file_id="42"), 4200, "file"),  # type: ignore[arg-type]
        (lambda: coze.datasets.update(dataset_id="42", name="x"), 4200, "dataset"),
        (lambda: coze.datasets.update(dataset_id=dataset_id, name=""), 4000, "name"),
        (lambda: coze.datasets.process(dataset_id=dataset_id, document_ids=[]), 4000, "document_ids"),
        (lambda: coze.datasets.process(dataset_id=dataset_id, document_ids=["1"] * 5000), 4000, "document_ids"),
        (lambda: documents.delete(document_ids=["1"] * 101), 4000, "document_ids"),
        (lambda: coze.datasets.process(dataset_id=dataset_id, document_ids=["42"]), 4200, "42"),
        (lambda: documents.create(dataset_id="42", document_bases=[good]), 4200, "dataset"),
        (create(), 4000, "document_bases"),
        (create(*[good] * 11), 4000, "document_bases"),
        (create(DocumentBase(name="", source_info=_text(NOTES))), 4000, "name"),
        (
            create(DocumentBase(name="b", source_info=DocumentSourceInfo(file_base64="%%%", file_type="txt"))),
            4000,
            "base64",
        ),
        (
            create(DocumentBase(name="e", source_info=DocumentSourceInfo(file_base64="", file_type="txt"))),
            4000,
            "empty",
        ),
        (create(DocumentBase(name="t", source_info=_text(NOTES, "exe"))), 4000, "file_type"),
        (create(DocumentBase(name="n", source_info=DocumentSourceInfo())), 4000, "exactly one"),
        (create(DocumentBase(name="f", source_info=DocumentSourceInfo.build_file_id("42"))), 4200, "file 42"),
        (create(good, format_type=DocumentFormatType.SPREADSHEET), 4000, "format_type"),
        (create(good, chunk_strategy=DocumentChunkStrategy(chunk_type=3)), 4000, "chunk_type"),
        (create(good, chunk_strategy=DocumentChunkStrategy.build_custom(50, "\n")), 4000, "max_tokens"),
        (create(good, chunk_strategy=DocumentChunkStrategy.build_custom(500, "###")), 4000, "separator"),
        (
            create(
                DocumentBase(name="u", source_info=_text(NOTES), update_rule=DocumentUpdateRule.build_auto_update(24))
            ),
            4000,
            "update_type",
        ),
        (lambda: documents.update(document_id="42", document_name="x"), 4200, "42"),
        (lambda: documents.delete(document_ids=["42"]), 4200, "42"),
        (lambda: documents.delete(document_ids=[]), 4000, "document_ids"),
        (lambda: list(documents.list(dataset_id="42")), 4200, "dataset"),
    ]
    for call, code, words in cases:
        got, msg = _code(call)
        assert (got, words in msg) == (code, True), (code, words, got, msg)
    assert coze.datasets.documents.list(dataset_id=dataset_id).items == []  # nothing half-made

    created = documents.create(dataset_id=dataset_id, document_bases=[good])
    _wait(coze, dataset_id, [created[0].document_id])
    code, msg = _code(lambda: documents.update(document_id=created[0].document_id, document_name=" "))
    assert code == 4000 and "document_name" in msg
    code, msg = _code(create(good, chunk_strategy=DocumentChunkStrategy.build_custom(500, "\n")))
    assert code == 4000 and "fixed by the first upload" in msg

    huge = base64.b64encode(b"x" * MAX_BODY).decode()
    body = {
        "dataset_id": dataset_id,
        "document_bases": [{"name": "big", "source_info": {"file_base64": huge, "file_type": "txt"}}],
    }
    response = httpx.post(
        f"{server.base_url}/open_api/knowledge/document/create", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert (response.status_code, response.json()["code"]) == (413, 4001)


def test_workspace_isolation_and_roles(server: Running, coze: Coze, other: Coze, space_id: str) -> None:
    dataset_id = _dataset(coze, space_id, "Private")
    created = coze.datasets.documents.create(
        dataset_id=dataset_id, document_bases=[DocumentBase(name="secret", source_info=_text(NOTES))]
    )
    document_id = created[0].document_id
    _wait(coze, dataset_id, [document_id])
    other_space = other.workspaces.list().items[0].id
    assert other_space != space_id
    good = DocumentBase(name="intruder", source_info=_text(NOTES))
    for call in (
        lambda: other.datasets.list(space_id=space_id),
        lambda: other.datasets.create(name="x", space_id=space_id, format_type=DocumentFormatType.DOCUMENT),
        lambda: other.datasets.update(dataset_id=dataset_id, name="taken"),
        lambda: other.datasets.delete(dataset_id=dataset_id),
        lambda: other.datasets.process(dataset_id=dataset_id, document_ids=[document_id]),
        lambda: other.datasets.documents.create(dataset_id=dataset_id, document_bases=[good]),
        lambda: list(other.datasets.documents.list(dataset_id=dataset_id)),
        lambda: other.datasets.documents.update(document_id=document_id, document_name="taken"),
        lambda: other.datasets.documents.delete(document_ids=[document_id]),
    ):
        assert _code(call)[0] == 4200
    assert dataset_id not in [d.dataset_id for d in other.datasets.list(space_id=other_space).items]

    viewer = server.coze(server.make_key("--user", "vera", "--role", "viewer"))
    assert [d.document_id for d in viewer.datasets.documents.list(dataset_id=dataset_id).items] == [document_id]
    for call in (
        lambda: viewer.datasets.create(name="no", space_id=space_id, format_type=DocumentFormatType.DOCUMENT),
        lambda: viewer.datasets.update(dataset_id=dataset_id, name="no"),
        lambda: viewer.datasets.delete(dataset_id=dataset_id),
        lambda: viewer.datasets.documents.create(dataset_id=dataset_id, document_bases=[good]),
        lambda: viewer.datasets.documents.update(document_id=document_id, document_name="no"),
        lambda: viewer.datasets.documents.delete(document_ids=[document_id]),
    ):
        assert _code(call)[0] == 4101
    assert coze.datasets.documents.list(dataset_id=dataset_id).items[0].name == "secret"
