"""Sentence-aware splitting for Chinese and English: chunks end at sentence ends, and the overlap is whole
sentences, so no chunk starts or stops mid-thought.

Chinese sentences end at 。！？；(and their ASCII forms next to Chinese text) plus any closing quotes.
English sentences end at . ! ? followed by a space and something that can start a sentence; a full stop
after a known abbreviation ("e.g.", "Dr.", "Fig. 3"), an initial ("J. Smith") or inside a number (3.14)
does not end one. A blank line always does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from plait.knowledge.splitters._base import BaseSplitter, Length, check_sizes
from plait.knowledge.splitters.recursive import DEFAULT_SEPARATORS, Piece, pack, split_units
from plait.models.tokens import count_text_tokens
from plait.schema import Document

_CLOSERS = "”’\"'」』）)》】\\]"
_CANDIDATE = re.compile(
    f"(?P<term>[。｡]+[！？!?]*|[!?！？]+|…+|\\.{{2,}}|[.;；])(?P<close>[{_CLOSERS}]*)(?P<space>\\s*)"
    r"|(?P<paragraph>\n[ \t]*\n\s*)"
)
_CHINESE_TERMINATORS = set("。｡！？；")
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)$")
# fmt: off
ABBREVIATIONS = frozenset({
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "vs", "al", "ave", "blvd", "capt", "col", "gen",
    "gov", "lt", "sgt", "rev", "hon", "sen", "rep", "inc", "ltd", "co", "corp", "dept", "est", "approx",
    "cf", "ca", "viz", "ibid", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov",
    "dec",
})
# Abbreviations that end a sentence unless a number follows: "see Fig. 3" but "the answer is no. Then".
NUMBERED = frozenset({"no", "nos", "fig", "figs", "vol", "vols", "p", "pp", "ch", "sec", "eq", "art"})
# fmt: on


def _cjk(char: str) -> bool:
    code = ord(char) if char else 0
    return 0x3040 <= code <= 0x30FF or 0x3400 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or code >= 0x20000


def _ends_sentence(text: str, match: re.Match[str]) -> bool:
    if match.group("paragraph"):
        return True
    term = match.group("term")
    before = text[match.start() - 1] if match.start() else ""
    after = text[match.end()] if match.end() < len(text) else ""
    if term[0] in _CHINESE_TERMINATORS or (term[0] == "…" and _cjk(before)):
        return True
    if term == ";":
        return _cjk(before)  # an ASCII semicolon in Chinese text; in English it joins clauses
    starts_next = not after or _cjk(after) or (bool(match.group("space")) and not after.islower())
    if term != "." or not starts_next or not after or match.group("close"):
        return starts_next
    word = _WORD_BEFORE.search(text, max(0, match.start() - 24), match.start())
    if word is None:
        return True  # after a number or a symbol: "costs 3. Then"
    name = word.group(1).lower()
    if name in NUMBERED:
        return not after.isdigit()
    return not (name in ABBREVIATIONS or len(name) == 1 or "." in name)  # "Dr.", "J.", "e.g.", "U.S."


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``, each with its trailing spaces; joined, they give ``text`` back."""
    sentences: list[str] = []
    start = 0
    for match in _CANDIDATE.finditer(text):
        if match.end() > start and _ends_sentence(text, match):
            sentences.append(text[start : match.end()])
            start = match.end()
    if start < len(text):
        sentences.append(text[start:])
    return sentences


class SentenceSplitter(BaseSplitter):
    """Packs whole sentences into chunks of at most ``chunk_size``; each chunk after the first repeats the
    previous chunk's last sentences, up to ``chunk_overlap``. A sentence longer than a chunk is cut like the
    recursive splitter would cut it."""

    def __init__(
        self,
        chunk_size: int = 512,
        chunk_overlap: int = 64,
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
        # A "sentence" without end punctuation can be a whole list or table: cut it by lines first.
        self._fallback = [re.compile(separator) for separator in DEFAULT_SEPARATORS[1:]]

    def split_text(self, text: str) -> list[str]:
        units: list[Piece] = []
        for sentence in split_sentences(text):
            size = self.length(sentence)
            if size <= self.chunk_size:
                units.append((sentence, size))
            else:
                units.extend(split_units(sentence, self.chunk_size, self._fallback, self.length))
        return pack(units, self.chunk_size, self.chunk_overlap, self.length)

    def _pieces(self, text: str, document: Document) -> Iterable[tuple[str, dict[str, Any]]]:
        return ((chunk, {}) for chunk in self.split_text(text))
