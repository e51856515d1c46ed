"""Recursive splitting: cut at the coarsest boundary that makes pieces fit (paragraphs, then lines,
sentences, clauses, words, and characters as a last resort), then pack pieces into chunks of at most
``chunk_size`` tokens, each starting with up to ``chunk_overlap`` tokens from the end of the previous one.

Sizes are measured by ``length`` (cl100k_base tokens by default). Piece counts are added up while packing,
which is close but not exact for BPE, so every chunk is measured again before it is emitted: a chunk is
never over ``chunk_size`` unless it is a single character that is.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from plait.knowledge.splitters._base import BaseSplitter, Length, check_sizes
from plait.models.tokens import count_text_tokens
from plait.schema import Document

# Each separator is a regular expression; a piece ends where a match ends, so the separator stays with the
# text before it (a sentence keeps its full stop, a paragraph its blank line). A Western sentence end is
# only tried where a run of ``.!?;`` starts: tried from inside the run, "!!!…" with no space after it was
# rescanned from every "!" of it (100,000 of them took minutes).
DEFAULT_SEPARATORS: tuple[str, ...] = (
    r"\n[ \t]*\n\s*",  # paragraphs
    r"\n",  # lines
    r"[。！？；｡]+[”’」』）》】]*\s*|(?<![.!?;])[.!?;]+[\"')\]]*\s+",  # sentences, Chinese and Western
    r"[，、：,:]\s*",  # clauses
    r"\s+",  # words
)

Piece = tuple[str, int]  # text and its length


def split_after(text: str, pattern: re.Pattern[str]) -> list[str]:
    """``text`` cut after each match of ``pattern``; joining the parts gives ``text`` back."""
    parts: list[str] = []
    start = 0
    for match in pattern.finditer(text):
        if match.end() > start:
            parts.append(text[start : match.end()])
            start = match.end()
    if start < len(text):
        parts.append(text[start:])
    return parts


def _longest_prefix(text: str, start: int, limit: int, length: Length, guess: int) -> int:
    """How many characters of ``text`` from ``start`` fit ``limit`` (at least one): gallop up from ``guess``,
    then bisect. Probes stay near the answer, so a megabyte without a single space costs no more than its
    pieces."""
    rest = len(text) - start
    fits, over = 0, rest + 1  # fits characters fit; over do not (rest + 1: none found yet)
    probe = min(max(guess, 1), rest)
    while over - fits > 1:
        if length(text[start : start + probe]) <= limit:
            fits = probe
        else:
            over = probe
        probe = min(fits * 2, rest) if over > rest else (fits + over) // 2
        if probe == fits:  # all of it fits
            break
    return max(fits, 1)


def hard_split(text: str, limit: int, length: Length) -> list[Piece]:
    """Cut text with no usable separator into the longest character runs that fit ``limit``. Pieces are
    sliced where they start: copying the rest of the text after every piece was quadratic."""
    pieces: list[Piece] = []
    start, guess = 0, limit
    while start < len(text):
        guess = _longest_prefix(text, start, limit, length, guess)
        piece = text[start : start + guess]
        pieces.append((piece, length(piece)))
        start += guess
    return pieces


def split_units(
    text: str, limit: int, patterns: Sequence[re.Pattern[str]], length: Length, level: int = 0
) -> list[Piece]:
    """``text`` as pieces of at most ``limit``, each cut at the coarsest separator that gets it there."""
    size = length(text)
    if size <= limit:
        return [(text, size)]
    for index in range(level, len(patterns)):
        parts = split_after(text, patterns[index])
        if len(parts) > 1:
            return [piece for part in parts for piece in split_units(part, limit, patterns, length, index + 1)]
    return hard_split(text, limit, length)


def _first_fitting(text: str, starts: Sequence[int], budget: int, length: Length) -> int | None:
    """The earliest of ``starts`` (ascending) from which the rest of ``text`` fits ``budget``."""
    low, high, found = 0, len(starts) - 1, None
    while low <= high:
        middle = (low + high) // 2
        if length(text[starts[middle] :]) <= budget:
            found, high = starts[middle], middle - 1
        else:
            low = middle + 1
    return found


def overlap_suffix(text: str, budget: int, patterns: Sequence[re.Pattern[str]], length: Length) -> Piece | None:
    """The longest end of ``text`` within ``budget`` that starts at the coarsest separator that allows one
    (a sentence, else a clause, else a word), or at any character; None if not even one character fits."""
    end = len(text.rstrip())  # a cut in the trailing separator would carry only whitespace
    window = max(0, end - budget * 16)  # a token is rarely over 16 characters
    for pattern in patterns:
        starts = [match.end() for match in pattern.finditer(text, window) if window < match.end() < end]
        start = _first_fitting(text, starts, budget, length)
        if start is not None:
            return text[start:], length(text[start:])
    start = _first_fitting(text, range(window + 1, end), budget, length)
    return None if start is None else (text[start:], length(text[start:]))


def _overlap_tail(pieces: list[Piece], budget: int, cut: Callable[[str, int], Piece | None] | None) -> list[Piece]:
    """The longest run of whole pieces from the end that fits ``budget``. When even the last piece is too
    big, ``cut`` gives its end instead: a chunk ending in a long paragraph would otherwise hand on nothing."""
    tail: list[Piece] = []
    total = 0
    for text, size in reversed(pieces):
        if total + size > budget:
            if not tail and cut is not None and (end := cut(text, budget)) is not None:
                tail.append(end)
            break
        tail.insert(0, (text, size))
        total += size
    return tail


def pack(
    units: Iterable[Piece],
    size: int,
    overlap: int,
    length: Length,
    cut: Callable[[str, int], Piece | None] | None = None,
) -> list[str]:
    """Greedily pack pieces into chunks of at most ``size``, each opening with up to ``overlap`` of the
    previous chunk's end: whole pieces, or with ``cut`` the end of a piece too big to carry whole."""
    queue = deque(units)
    chunks: list[str] = []
    current: list[Piece] = []
    carried = total = 0  # carried: how many pieces at the front of ``current`` are overlap

    def text_of(pieces: list[Piece]) -> str:
        return "".join(text for text, _ in pieces).strip()

    while queue or len(current) > carried:
        if queue and (not current or total + queue[0][1] <= size):
            current.append(queue.popleft())
            total += current[-1][1]
            continue
        if queue and len(current) == carried:  # the overlap leaves no room for the next piece: shorten it
            total -= current.pop(0)[1]
            carried -= 1
            continue
        # The estimate said it fits; the real count decides. Pieces that push it over wait for the next chunk.
        while len(current) - carried > 1 and length(text_of(current)) > size:
            queue.appendleft(current.pop())
        while carried and length(text_of(current)) > size:
            current.pop(0)
            carried -= 1
        if text := text_of(current):
            chunks.append(text)
        current = _overlap_tail(current, overlap, cut) if queue and overlap > 0 else []
        carried, total = len(current), sum(piece[1] for piece in current)
    return chunks


class RecursiveSplitter(BaseSplitter):
    """Splits any text by the separators, largest first; the default for plain text, PDF pages and rows."""

    def __init__(
        self,
        chunk_size: int = 512,
        chunk_overlap: int = 64,
        separators: Sequence[str] = DEFAULT_SEPARATORS,
        length: Length = count_text_tokens,
        *,
        collapse_spaces: bool = True,
        remove_urls_emails: bool = False,
    ) -> None:
        super().__init__(collapse_spaces=collapse_spaces, remove_urls_emails=remove_urls_emails)
        check_sizes(chunk_size, chunk_overlap)
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self.length = length
        self.patterns = [re.compile(separator) for separator in separators]

    def split_text(self, text: str, chunk_size: int | None = None) -> list[str]:
        """Chunks of ``text``, none empty; ``chunk_size`` overrides the configured size (the overlap shrinks
        to fit inside it)."""
        size = self.chunk_size if chunk_size is None else chunk_size
        overlap = min(self.chunk_overlap, size - 1)
        units = split_units(text, size, self.patterns, self.length)
        return pack(units, size, overlap, self.length, self._overlap_suffix)

    def _overlap_suffix(self, text: str, budget: int) -> Piece | None:
        return overlap_suffix(text, budget, self.patterns, self.length)

    def _pieces(self, text: str, document: Document) -> Iterable[tuple[str, dict[str, Any]]]:
        return ((chunk, {}) for chunk in self.split_text(text))
