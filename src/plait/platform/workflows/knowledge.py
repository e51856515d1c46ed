"""A workspace's datasets as a run's knowledge nodes reach them: knowledge_retrieval searches them, and
knowledge_write adds text as a new document, which ingestion chunks and indexes like an upload. A node names
datasets by id, or by name, so a shipped workflow file works in any workspace that has a dataset of that name."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

from plait.platform.access import Principal
from plait.platform.dataset_indexes import DatasetIndexes, DatasetLimits
from plait.platform.datasets import NewDocument, create_documents, search_datasets
from plait.platform.errors import InvalidParams, NotFound
from plait.platform.unit_of_work import UnitOfWork
from plait.schema import Document
from plait.settings import Settings
from plait.store import Database
from plait.workflows.ports import WrittenDocument


class WorkspaceDatasets:
    """``DatasetSearch`` and ``KnowledgeWriter`` over one workspace's datasets, acting as the run's user."""

    def __init__(self, database: Database, indexes: DatasetIndexes, principal: Principal, settings: Settings) -> None:
        self._database = database
        self._indexes = indexes
        self._principal = principal
        self._max_bytes = settings.max_upload_bytes
        self._ingestion: dict[str, Any] = {  # what create_documents needs of the process, as an upload has it
            "data_dir": settings.data_dir,
            "max_bytes": settings.max_upload_bytes,
            "limits": DatasetLimits.of(settings),
            "indexes": indexes,
        }

    async def search(self, dataset_ids: Sequence[str], query: str, *, top_k: int) -> list[Document]:
        workspace_id = self._principal.workspace_id
        async with self._database.unit_of_work() as uow:
            ids = await _dataset_ids(uow, workspace_id, dataset_ids)
            return await search_datasets(uow, workspace_id, ids, query, indexes=self._indexes, top_k=top_k)

    async def add_text(self, dataset_id: str, name: str, text: str, system: Mapping[str, Any]) -> WrittenDocument:
        data = text.encode()
        if len(data) > self._max_bytes:
            raise InvalidParams(f"the text is {len(data)} bytes; a document may have {self._max_bytes}")
        new = NewDocument(name=name, file_base64=base64.b64encode(data).decode(), file_type="txt")
        async with self._database.unit_of_work() as uow:
            ids = await _dataset_ids(uow, self._principal.workspace_id, [dataset_id])
            if not ids:
                raise NotFound(f"dataset {dataset_id} not found")
            (document,) = await create_documents(
                uow, self._principal, ids[0], [new], chunk_strategy=None, format_type=None, **self._ingestion
            )  # ingestion starts once this unit of work commits
        return WrittenDocument(document_id=document.id, name=document.name)


async def _dataset_ids(uow: UnitOfWork, workspace_id: str, names: Sequence[str]) -> list[str]:
    """Ids as given (their workspace is checked where they are used), and the ids of the datasets named."""
    ids = [name for name in names if name.isdigit()]
    for name in (name for name in names if not name.isdigit()):
        page = await uow.datasets.search(workspace_id, name=name, page_size=100)
        ids.extend(dataset.id for dataset in page.items if dataset.name == name)
    return ids
