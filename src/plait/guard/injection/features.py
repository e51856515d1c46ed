"""Hashed text features: character 2-5-grams (which cover Chinese, where words have no spaces) and word 1-2-grams,
folded into a fixed number of buckets, so the model's size does not grow with its vocabulary. Digits are folded
to ``0``: phone numbers, prices and dates would otherwise be rare n-grams the model fits by chance."""

from __future__ import annotations

import itertools
import re
import zlib

import numpy as np
import numpy.typing as npt

from plait.guard.injection.normalise import normalise

DIM = 1 << 17
CHAR_NGRAMS = (2, 3, 4, 5)
MAX_CHARS = 4_000  # a long message is judged on its start and end: where injected instructions sit
_WORD = re.compile(r"[a-z0-9']+|[^\sa-z0-9']", re.ASCII | re.IGNORECASE)
_DIGIT = re.compile(r"[0-9]")
_MULTIPLIERS = np.array([0x9E3779B1, 0x85EBCA77, 0xC2B2AE3D, 0x27D4EB2F, 0x165667B1], dtype=np.uint64)


def _clip(text: str) -> str:
    text = _DIGIT.sub("0", " ".join(normalise(text).lower().split()))  # a number's digits say nothing of intent
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS // 2] + " " + text[-MAX_CHARS // 2 :]


def hashed(text: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """The text's bucket indices and weights (log counts, L2-normalised): a sparse row."""
    clipped = _clip(text)
    codes = np.frombuffer(clipped.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    parts: list[npt.NDArray[np.uint64]] = []
    for n in CHAR_NGRAMS:
        if len(codes) >= n:
            acc = np.full(len(codes) - n + 1, n, dtype=np.uint64)
            for k in range(n):
                acc = acc * np.uint64(1_000_003) ^ codes[k : len(codes) - n + 1 + k] * _MULTIPLIERS[k]
            parts.append(acc)
    words = _WORD.findall(clipped)
    grams = words + [f"{a} {b}" for a, b in itertools.pairwise(words)]
    parts.append(np.array([zlib.crc32(g.encode()) | (1 << 40) for g in grams], dtype=np.uint64))
    keys = (np.concatenate(parts) % np.uint64(DIM)).astype(np.int64) if parts else np.zeros(0, np.int64)
    indices, counts = np.unique(keys, return_counts=True)
    values = np.log1p(counts).astype(np.float32)
    norm = float(np.linalg.norm(values))
    return indices, values / norm if norm else values
