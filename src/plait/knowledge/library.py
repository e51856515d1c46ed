"""Knowledge bases by name, each in its own folder under the data directory (``knowledge/<name>``)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from plait.components import Embedder
from plait.datadir import data_dir
from plait.knowledge.base import KnowledgeBase
from plait.knowledge.config import KnowledgeBaseConfig
from plait.knowledge.errors import KnowledgeError, UnknownKnowledgeBase


class KnowledgeLibrary:
    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else data_dir("knowledge")

    def names(self) -> list[str]:
        if not self.root.exists():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / "config.json").exists())

    async def create(self, config: KnowledgeBaseConfig, *, embedder: Embedder | None = None) -> KnowledgeBase:
        folder = self.root / config.name
        if (folder / "config.json").exists():
            raise KnowledgeError(f"knowledge base {config.name!r} already exists")
        return await KnowledgeBase.open(folder, config, embedder=embedder)

    async def open(self, name: str, *, embedder: Embedder | None = None) -> KnowledgeBase:
        folder = self.root / name
        if "/" in name or not (folder / "config.json").exists():
            raise UnknownKnowledgeBase(f"no knowledge base named {name!r}; known: {', '.join(self.names()) or 'none'}")
        return await KnowledgeBase.open(folder, embedder=embedder)

    async def drop(self, name: str) -> None:
        folder = self.root / name
        if "/" in name or not (folder / "config.json").exists():
            raise UnknownKnowledgeBase(f"no knowledge base named {name!r}")
        await asyncio.to_thread(shutil.rmtree, folder)
