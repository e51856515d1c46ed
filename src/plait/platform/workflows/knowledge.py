"""A workspace's datasets as a run's knowledge retrieval nodes search them. A node names datasets by id, or by
name, so a shipped workflow file works in any workspace that has a dataset of that name."""

from __future__ import annotations

from collections.abc import Sequence

from plait.platform.dataset_indexes import DatasetIndexes
from plait.platform.datasets import search_datasets
from plait.schema import Document
from plait.store import Database


class WorkspaceDatasets:
    def __init__(self, database: Database, indexes: DatasetIndexes, workspace_id: str) -> None:
        self._database = database
        self._indexes = indexes
        self._workspace_id = workspace_id

    async def search(self, dataset_ids: Sequence[str], query: str, *, top_k: int) -> list[Document]:
        async with self._database.unit_of_work() as uow:
            ids = [name for name in dataset_ids if name.isdigit()]
            for name in (name for name in dataset_ids if not name.isdigit()):
                page = await uow.datasets.search(self._workspace_id, name=name, page_size=100)
                ids.extend(dataset.id for dataset in page.items if dataset.name == name)
            return await search_datasets(uow, self._workspace_id, ids, query, indexes=self._indexes, top_k=top_k)
