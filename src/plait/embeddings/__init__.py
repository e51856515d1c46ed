"""Embedders: a local all-MiniLM-L6-v2 (ONNX Runtime or torch), any OpenAI-compatible ``/embeddings``
server, and an LRU cache in front of either.

Importing this package imports no torch, onnxruntime, sentence-transformers or numpy: the local embedder
loads them on first use, in its worker thread.
"""

from plait.embeddings.base import check_texts, identity_of
from plait.embeddings.cache import CachedEmbedder, EmbeddingCache
from plait.embeddings.local import LocalEmbedder
from plait.embeddings.openai_compat import DimensionUnknown, OpenAICompatEmbedder

__all__ = [
    "CachedEmbedder",
    "DimensionUnknown",
    "EmbeddingCache",
    "LocalEmbedder",
    "OpenAICompatEmbedder",
    "check_texts",
    "identity_of",
]
