"""Datasets across processes: two ``plait serve`` processes on one database, as two workers (SQLite: one host,
one data dir) or two hosts (PostgreSQL: a data dir each, nothing shared but the database and the secret key).

A document ingested through one process is found through the other by a chat with knowledge (the bot's model,
``scripted/prompt``, answers with its prompt, which holds the chunks found); both processes ingesting into one
dataset at once lose nothing; a deletion through one is seen by the other. PostgreSQL runs twice: with
pgvector (the machine's server has it, and its superuser creates the extension), and as a role that may not
create it, where datasets fall back to vectors in their chunk rows, searched in each worker's memory.
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cozepy import (
    ChatStatus,
    Coze,
    DocumentBase,
    DocumentChunkStrategy,
    DocumentFormatType,
    DocumentSourceInfo,
    Message,
    SyncHTTPClient,
    TokenAuth,
)
from pg_admin import admin_sql
from server_harness import free_port
from sqlalchemy import func, select

from plait.store import UnitOfWork, create_engine, session_factory
from plait.store.tables import Dataset, DatasetDocument
from plait.store.tables.knowledge import DatasetChunk

PLAIT = str(Path(sys.executable).with_name("plait"))
PG = "postgresql+asyncpg://{role}@127.0.0.1:5432/{database}"


@dataclass(slots=True)
class Pair:
    """Two processes serving one database, a token valid on both, and how vectors are kept there."""

    bases: tuple[str, str]
    token: str
    database_url: str
    vectors: str
    shared_disk: bool  # one data dir (one host) or one each
    clients: list[SyncHTTPClient]

    def coze(self, which: int) -> Coze:
        client = SyncHTTPClient()
        self.clients.append(client)
        return Coze(auth=TokenAuth(self.token), base_url=self.bases[which], http_client=client)


def _serve(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [PLAIT, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else "serve exited"
        try:
            if httpx.get(f"{base}/health").status_code == 200:
                return process, base
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "plait serve did not come up"
        time.sleep(0.2)


@pytest.fixture(scope="module", params=["sqlite", "postgresql", "postgresql-no-pgvector"])
def pair(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    common = {
        **os.environ,
        "PLAIT_EMBEDDER": "hashing",
        "PLAIT_DEFAULT_MODEL": "scripted/echo",
        "PLAIT_SECRET_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "PLAIT_DATABASE_URL": "",
    }
    shared = str(tmp_path_factory.mktemp("workers"))
    database = role = None
    if request.param != "sqlite":
        database = f"plait_workers_{uuid.uuid4().hex[:12]}"
        role = "postgres"
        if request.param == "postgresql-no-pgvector":  # not a superuser: may not create the extension
            role = f"plait_role_{uuid.uuid4().hex[:8]}"
            asyncio.run(admin_sql(f'CREATE ROLE "{role}" LOGIN'))
        asyncio.run(admin_sql(f'CREATE DATABASE "{database}" OWNER "{role}"'))
        common["PLAIT_DATABASE_URL"] = PG.format(role=role, database=database)
    envs = [
        {**common, "PLAIT_DATA_DIR": shared if database is None else str(tmp_path_factory.mktemp(f"host{n}"))}
        for n in (0, 1)
    ]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        bases = []
        for env in envs:  # one after the other: the first migrates the database
            process, base = _serve(env)
            processes.append(process)
            bases.append(base)
        keys = subprocess.run([PLAIT, "keys", "create"], env=envs[1], capture_output=True, text=True, check=True)
        url = common["PLAIT_DATABASE_URL"] or f"sqlite+aiosqlite:///{shared}/plait.db"
        vectors = "pgvector" if request.param == "postgresql" else "rows"
        pair = Pair((bases[0], bases[1]), keys.stdout.strip().splitlines()[-1], url, vectors, database is None, [])
        yield pair
        for client in pair.clients:
            client.close()
    finally:
        errors = []
        for process in processes:
            process.terminate()
            errors.append(process.communicate(timeout=30)[1])
        if database:
            asyncio.run(admin_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        if role and role != "postgres":
            asyncio.run(admin_sql(f'DROP ROLE IF EXISTS "{role}"'))
    for stderr in errors:
        assert b"Traceback" not in stderr, stderr.decode()
        # the fallback is said at start, with how to get pgvector
        assert (b"PostgreSQL has no pgvector extension" in stderr) == (request.param == "postgresql-no-pgvector")


def _wait(coze: Coze, dataset_id: str, document_ids: list[str]) -> list[int]:
    deadline = time.monotonic() + 60
    while True:
        statuses = [p.status for p in coze.datasets.process(dataset_id=dataset_id, document_ids=document_ids)]
        if 0 not in statuses or time.monotonic() > deadline:
            return statuses
        time.sleep(0.1)


def _text(content: str) -> DocumentSourceInfo:
    return DocumentSourceInfo(file_base64=base64.b64encode(content.encode()).decode(), file_type="txt")


def _bot(pair: Pair, coze: Coze, space_id: str, dataset_id: str) -> str:
    """A published bot that searches the dataset for every question and answers with its prompt."""
    bot_id = coze.bots.create(
        space_id=space_id, name="Reader", model_info_config={"model_id": "scripted/prompt"}
    ).bot_id
    update = {"bot_id": bot_id, "knowledge": {"dataset_ids": [dataset_id], "auto_call": True, "search_strategy": 0}}
    answer = httpx.post(
        f"{pair.bases[1]}/v1/bot/update", json=update, headers={"authorization": f"Bearer {pair.token}"}
    )
    assert answer.json()["code"] == 0
    coze.bots.publish(bot_id=bot_id)
    return bot_id


def _found(coze: Coze, bot_id: str, question: str) -> str:
    """The prompt the bot's model got for ``question``: the knowledge found, then the question."""
    chat = coze.chat.create(
        user_id="u", bot_id=bot_id, additional_messages=[Message.build_user_question_text(question)]
    )
    assert chat.status == ChatStatus.COMPLETED
    messages = coze.chat.messages.list(conversation_id=chat.conversation_id, chat_id=chat.id)
    return next(m.content for m in messages if m.type == "answer")


def _paragraph(word: str) -> str:
    """About 70 tokens around one unique word: with 100-token chunks, each paragraph is a chunk of its own."""
    return f"{word} " + " ".join("kettle water" for _ in range(30)) + f" {word}."


async def _stored(database_url: str, dataset_id: str) -> tuple[int, int, int, str]:
    """(chunk rows, the dataset's chunk count, the slices of its done documents, where its vectors are), read
    from the database."""
    engine = create_engine(database_url)
    try:
        async with UnitOfWork(session_factory(engine)) as uow:
            rows = await uow.session.scalar(
                select(func.count()).select_from(DatasetChunk).where(DatasetChunk.dataset_id == dataset_id)
            )
            dataset = await uow.session.get(Dataset, dataset_id)
            slices = await uow.session.scalar(
                select(func.sum(DatasetDocument.slice_count)).where(
                    DatasetDocument.dataset_id == dataset_id, DatasetDocument.status == 1
                )
            )
            assert dataset is not None
            return int(rows or 0), dataset.chunk_count, int(slices or 0), dataset.config["vectors"]
    finally:
        await engine.dispose()


def test_a_document_ingested_through_one_process_is_found_through_the_other(pair: Pair, tmp_path: Path) -> None:
    first, second = pair.coze(0), pair.coze(1)
    space_id = first.workspaces.list().items[0].id
    dataset_id = first.datasets.create(
        name="shared", space_id=space_id, format_type=DocumentFormatType.DOCUMENT
    ).dataset_id
    bot_id = _bot(pair, second, space_id, dataset_id)
    assert "(kettle.txt)" not in _found(second, bot_id, "Zephyrine")  # the second process's index, loaded empty

    (document,) = first.datasets.documents.create(
        dataset_id=dataset_id,
        document_bases=[DocumentBase(name="kettle.txt", source_info=_text("Descale the Zephyrine kettle monthly."))],
    )
    assert _wait(second, dataset_id, [document.document_id]) == [1]
    for coze in (second, first):
        assert "(kettle.txt) Descale the Zephyrine kettle monthly." in _found(coze, bot_id, "Zephyrine kettle")

    first.datasets.documents.delete(document_ids=[document.document_id])
    assert "(kettle.txt)" not in _found(second, bot_id, "Zephyrine kettle")
    # An upload lives on the disk of the server that took it: another host says so up front.
    upload = tmp_path / "notes.txt"
    upload.write_text("Oil the Velocipede chain after rain.")
    with upload.open("rb") as handle:
        file_id = first.files.upload(file=handle).id
    from_file = DocumentBase(name="notes", source_info=DocumentSourceInfo.build_file_id(file_id))
    if pair.shared_disk:
        (document,) = second.datasets.documents.create(dataset_id=dataset_id, document_bases=[from_file])
        assert _wait(first, dataset_id, [document.document_id]) == [1]
    else:
        with pytest.raises(Exception, match="not on this server"):
            second.datasets.documents.create(dataset_id=dataset_id, document_bases=[from_file])
    # web pages are off unless an admin allows networks
    page = DocumentBase(name="page", source_info=DocumentSourceInfo.build_web_page("http://127.0.0.1:9/"))
    with pytest.raises(Exception, match="fetching web pages is off"):
        second.datasets.documents.create(dataset_id=dataset_id, document_bases=[page])


def test_concurrent_ingestion_into_one_dataset_loses_nothing(pair: Pair) -> None:
    """Both processes ingest into one dataset at once; afterwards every chunk of every document, all done, is
    found through either process, and the database counts agree."""
    clients = (pair.coze(0), pair.coze(1))
    space_id = clients[0].workspaces.list().items[0].id
    dataset_id = (
        clients[0].datasets.create(name="busy", space_id=space_id, format_type=DocumentFormatType.DOCUMENT).dataset_id
    )
    strategy = DocumentChunkStrategy.build_custom(max_tokens=100, separator="\n\n")
    words = {f"doc{d}": [f"Marker{d}x{p}" for p in range(3)] for d in range(12)}

    def upload(names: list[str], which: int) -> list[str]:
        bases = [DocumentBase(name=n, source_info=_text("\n\n".join(map(_paragraph, words[n])))) for n in names]
        created = clients[which].datasets.documents.create(
            dataset_id=dataset_id, document_bases=bases, chunk_strategy=strategy
        )
        return [d.document_id for d in created]

    names = list(words)
    batches = [(names[i : i + 3], i // 3 % 2) for i in range(0, len(names), 3)]
    with ThreadPoolExecutor(len(batches)) as pool:
        document_ids = [i for ids in pool.map(lambda batch: upload(*batch), batches) for i in ids]
    assert _wait(clients[1], dataset_id, document_ids) == [1] * len(names)
    documents = clients[0].datasets.documents.list(dataset_id=dataset_id, page_size=100).items
    assert sorted(d.slice_count for d in documents) == [3] * len(names)
    assert asyncio.run(_stored(pair.database_url, dataset_id)) == (3 * len(names),) * 3 + (pair.vectors,)

    bot_id = _bot(pair, clients[0], space_id, dataset_id)
    for n, (name, markers) in enumerate(words.items()):
        for marker in markers:
            assert f"({name}) {marker} kettle water" in _found(clients[n % 2], bot_id, marker), (name, marker)
