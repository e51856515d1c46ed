"""Process-wide language resources, loaded on first use and never at import.

jieba's dictionary takes about half a second and tens of megabytes to load, so it is built once per process
under a lock, however many threads ask for it at the same time. Snowball stemmers keep internal state and must
not be shared between threads, so each thread gets its own. OpenCC converters are immutable once built.
The input check every public entry point shares lives here too.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

_lock = threading.Lock()
_jieba: Any = None
_posseg: Any = None
_converters: dict[str, Any] = {}
_local = threading.local()

jieba_loads = 0
"""How many times this process built jieba's dictionary: one at most, tests hold it to that."""


def ensure_text(text: object) -> None:
    """Raise a TypeError naming the type received when ``text`` is not a str (bytes included)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")


def jieba_tokenizer() -> Any:
    """jieba's default tokenizer with its dictionary loaded (shared with any other jieba user in the process)."""
    global _jieba, jieba_loads
    if _jieba is None:
        with _lock:
            if _jieba is None:
                import jieba  # type: ignore[import-untyped]

                jieba.setLogLevel(logging.WARNING)  # it logs every load to stderr at DEBUG
                jieba.dt.initialize()
                jieba_loads += 1
                _jieba = jieba.dt
    return _jieba


def jieba_pos_tokenizer() -> Any:
    """jieba's part-of-speech tokenizer, over the same loaded dictionary (its import reads the tag table)."""
    global _posseg
    if _posseg is None:
        jieba_tokenizer()
        with _lock:
            if _posseg is None:
                import jieba.posseg  # type: ignore[import-untyped]

                _posseg = jieba.posseg.dt
    return _posseg


def converter(config: str) -> Any:
    """An OpenCC converter, e.g. "t2s" (traditional to simplified) or "s2t"."""
    found = _converters.get(config)
    if found is None:
        with _lock:
            found = _converters.get(config)
            if found is None:
                import opencc

                found = _converters[config] = opencc.OpenCC(config)
    return found


def stemmer(algorithm: str) -> Any:
    """This thread's Snowball stemmer for ``algorithm`` (a language name or ISO 639 code)."""
    stemmers: dict[str, Any] = _local.__dict__.setdefault("stemmers", {})
    found = stemmers.get(algorithm)
    if found is None:
        import Stemmer  # type: ignore[import-not-found]

        found = stemmers[algorithm] = Stemmer.Stemmer(algorithm)
    return found
