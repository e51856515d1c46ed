"""A deterministic embedder with no model: feature hashing of search terms into a fixed-size unit vector.

Shipped for tests, demos and benchmarks of everything around embeddings (ingestion, stores, fusion), as the
scripted chat model is for chat: same text, same vector, on any machine, instantly. Texts that share terms
are close; it knows nothing of meaning.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence

from plait.embeddings.base import check_texts


class HashingEmbedder:
    model_id = "hashing"

    def __init__(self, dimension: int = 384, *, analyzer: Callable[[str], list[str]] | None = None) -> None:
        if dimension < 8:
            raise ValueError("dimension must be at least 8")
        self.dimension = dimension
        self._analyzer = analyzer

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [self._vector(text) for text in check_texts(texts)]

    def _terms(self, text: str) -> list[str]:
        if self._analyzer is None:
            from plait.nlu import Analyzer

            self._analyzer = Analyzer()
        return self._analyzer(text)

    def _vector(self, text: str) -> list[float]:
        vector = [0.0] * self.dimension
        for term in self._terms(text):
            digest = hashlib.blake2b(term.encode(), digest_size=8).digest()
            slot = int.from_bytes(digest[:4], "little") % self.dimension
            vector[slot] += 1.0 if digest[4] & 1 else -1.0
        norm = math.sqrt(sum(v * v for v in vector))
        if norm == 0:
            vector[0], norm = 1.0, 1.0
        return [v / norm for v in vector]
