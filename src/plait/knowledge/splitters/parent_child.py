"""Parent-child chunking: match on small chunks, answer with big ones. Small chunks embed precisely; the
model needs the surrounding text. Each child names its parent (``parent_id``) and, by default, carries the
parent's text in metadata ``parent_content``, so any vector store that keeps metadata can hand the parent
back without a second store; ``expand_to_parents`` turns retrieved children into their parents. Set
``store_parent_content=False`` and use ``split_with_parents`` to keep parents in a store of their own
instead (parent text is then not repeated in every child).
"""

from __future__ import annotations

from collections.abc import Sequence

from plait.components import Splitter
from plait.knowledge.splitters.recursive import RecursiveSplitter
from plait.schema import Document

_CHILD_ONLY = ("chunk_index", "parent_content")


class ParentChildSplitter:
    """``split`` returns the children; parents come from ``parent`` (1024 tokens by default), children from
    ``child`` run on each parent (128 tokens, 16 overlap), so a child never spans two parents."""

    def __init__(
        self, parent: Splitter | None = None, child: Splitter | None = None, *, store_parent_content: bool = True
    ) -> None:
        self.parent = parent or RecursiveSplitter(chunk_size=1024, chunk_overlap=0)
        self.child = child or RecursiveSplitter(chunk_size=128, chunk_overlap=16)
        self.store_parent_content = store_parent_content

    async def split(self, documents: Sequence[Document]) -> list[Document]:
        return (await self.split_with_parents(documents))[1]

    async def split_with_parents(self, documents: Sequence[Document]) -> tuple[list[Document], list[Document]]:
        """The parents and the children; each child's ``parent_id`` is the id of one of the parents."""
        parents = await self.parent.split(documents)
        children: list[Document] = []
        for parent in parents:
            for child in await self.child.split([parent]):
                child.metadata["parent_id"] = parent.id
                if self.store_parent_content:
                    child.metadata["parent_content"] = parent.content
                children.append(child)
        return parents, children


def expand_to_parents(children: Sequence[Document]) -> list[Document]:
    """Retrieved children (best first) as their parents, each parent once, in the order of its best child,
    scored by it. Children without ``parent_content`` (or ``parent_id``) are returned as they are."""
    parents: dict[str, Document] = {}
    for child in children:
        parent_id = child.metadata.get("parent_id")
        content = child.metadata.get("parent_content")
        if parent_id is None or content is None:
            parents.setdefault(child.id, child)
            continue
        if parent_id in parents:
            parents[parent_id].metadata["chunk_ids"].append(child.id)
            continue
        metadata = {key: value for key, value in child.metadata.items() if key not in _CHILD_ONLY}
        metadata["chunk_ids"] = [child.id]
        metadata["parent_id"] = metadata.get("document_id", parent_id)
        parents[parent_id] = Document(id=parent_id, content=content, metadata=metadata, score=child.score)
    return list(parents.values())
