"""Component protocols. Anything that satisfies one of them can be a graph node as it is."""

from plait.components.model import ChatModel
from plait.components.prompt import PromptTemplate
from plait.components.retrieval import Embedder, Indexer, Loader, Reranker, Retriever, Splitter
from plait.components.tool import Tool

__all__ = [
    "ChatModel",
    "Embedder",
    "Indexer",
    "Loader",
    "PromptTemplate",
    "Reranker",
    "Retriever",
    "Splitter",
    "Tool",
]
