"""What every embedder here shares: input checking and the identity that says which vectors it makes."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

_anonymous = itertools.count(1)


def check_texts(texts: Sequence[str]) -> list[str]:
    """The texts as a list, or a TypeError naming the first item that is not a string.

    A bare string is refused too: it is a sequence of characters, and embedding each one is never meant."""
    if isinstance(texts, str):
        raise TypeError("embed() takes a sequence of strings, not one string: wrap it in a list")
    items = list(texts)
    for position, text in enumerate(items):
        if not isinstance(text, str):
            raise TypeError(f"embed() takes strings; item {position} is {type(text).__name__}")
    return items


def identity_of(embedder: Any) -> str:
    """What determines an embedder's vectors: its ``identity`` when it has one (same identity, same vectors),
    else a name never given out before (not ``id()``, which a later object can reuse), so caches never mix
    vectors of different models."""
    identity = getattr(embedder, "identity", None)
    if isinstance(identity, str) and identity:
        return identity
    return f"{type(embedder).__module__}.{type(embedder).__qualname__}#{next(_anonymous)}"
