"""Segmentation with part-of-speech tags and simple entity labels, for the NLU API.

One tag set for every language, jieba's (ICTCLAS style: "n" noun, "v" verb, "p" preposition, "r" pronoun,
"m" numeral, "x" punctuation or symbol, "eng" a Latin-script word, "nr"/"ns"/"nt"/"nz" proper nouns...).

Chinese text is tagged by ``jieba.posseg`` (with its HMM, which finds names missing from the dictionary), run on
the simplified form of the text and mapped back so tokens keep the original characters. English gets a rule
set, not a tagger: closed-class words from a table ("r" pronouns and determiners, "p" prepositions, "c"
conjunctions, "v" auxiliaries), "m" numbers, "nz" words of a proper-noun span, "eng" other Latin-script words,
"x" punctuation and anything else (words of other scripts are split on spaces and punctuation only).

``ner`` is a plain label per token (no BIO prefixes): "PERSON", "LOCATION", "ORG" from jieba's nr*/ns*/nt* tags,
"PROPER" for jieba's nz and for English spans of capitalised words (a single capitalised word opening a
sentence is not counted; leading function words such as "The" are left out), "O" otherwise.
"""

from __future__ import annotations

import asyncio
import re
from typing import TypedDict

from plait.nlu._resources import converter, ensure_text, jieba_pos_tokenizer
from plait.nlu.language import detect_language


class Token(TypedDict):
    """One token: its text as written, a jieba-style POS tag, an entity label or "O"."""

    text: str
    pos: str
    ner: str


class Analysis(TypedDict):
    """What :func:`analyze` returns (a plain dict, ready to serve as JSON)."""

    text: str
    language: str
    tokens: list[Token]


_ENTITY_PREFIXES = (("nr", "PERSON"), ("ns", "LOCATION"), ("nt", "ORG"), ("nz", "PROPER"))

_CLOSED_CLASS: dict[str, str] = {
    word: tag
    for tag, words in {
        "r": "a an the this that these those some any each every no all both i me my mine we us our you your he him"
        " his she her it its they them their who whom whose which what",
        "p": "of in on at by for with from to into onto about over under between through during without within"
        " across after before since until upon among against toward towards",
        "c": "and or but nor so yet because although though while whereas if unless",
        "v": "is are was were be been being am have has had do does did will would shall should can could may might"
        " must",
    }.items()
    for word in words.split()
}
_ENGLISH_TOKEN = re.compile(r"[^\W_]+(?:[-'\u2019.][^\W_]+)*|[^\w\s]|_")  # "don't", "COVID-19", "3.5" stay whole
_CONNECTORS = frozenset({"of", "de", "del", "da", "di", "du", "la", "le", "van", "von", "der", "den", "bin", "al"})
_SENTENCE_END = frozenset(".!?:;\"'()[]\u201c\u201d\u2018\u2019")


def analyze(text: str) -> Analysis:
    """Tokens of ``text`` with a part-of-speech tag and an entity label each; empty text gives no tokens."""
    ensure_text(text)
    language = detect_language(text)
    tokens = _chinese(text) if language == "zh" else _english(text)
    return {"text": text, "language": language, "tokens": tokens}


async def analyze_async(text: str) -> Analysis:
    """:func:`analyze` in a worker thread: jieba is CPU work and must not block the event loop."""
    ensure_text(text)
    return await asyncio.to_thread(analyze, text)


def _chinese(text: str) -> list[Token]:
    simplified = converter("t2s").convert(text)
    if len(simplified) != len(text):  # never seen with t2s, but offsets below rely on it
        simplified = text
    tokens: list[Token] = []
    start = 0
    for word, flag in jieba_pos_tokenizer().cut(simplified):
        original = text[start : start + len(word)]
        start += len(word)
        if not original.isspace():
            tokens.append({"text": original, "pos": flag, "ner": _entity(flag)})
    return tokens


def _entity(flag: str) -> str:
    return next((label for prefix, label in _ENTITY_PREFIXES if flag.startswith(prefix)), "O")


def _english(text: str) -> list[Token]:
    words = _ENGLISH_TOKEN.findall(text)
    proper = _proper_spans(words)
    return [
        {"text": word, "pos": "nz" if inside else _english_pos(word), "ner": "PROPER" if inside else "O"}
        for word, inside in zip(words, proper, strict=True)
    ]


def _english_pos(word: str) -> str:
    lowered = word.lower()
    if lowered in _CLOSED_CLASS:
        return _CLOSED_CLASS[lowered]
    if word[0].isdigit():
        return "m"
    return "eng" if word[0].isalpha() and word[0] <= "\u024f" else "x"  # Latin script, as jieba tags it


def _proper_spans(words: list[str]) -> list[bool]:
    """Which words belong to a span of capitalised words (connectors such as "of" allowed inside)."""
    inside = [False] * len(words)
    i = 0
    while i < len(words):
        if not _capitalised(words[i]):
            i += 1
            continue
        end = i + 1
        while end < len(words) and (
            _capitalised(words[end])
            or (words[end] in _CONNECTORS and end + 1 < len(words) and _capitalised(words[end + 1]))
        ):
            end += 1
        start = i
        while start < end and words[start].lower() in _CLOSED_CLASS:
            start += 1
        opens_sentence = start == 0 or words[start - 1] in _SENTENCE_END
        if end - start > 1 or (end - start == 1 and not opens_sentence):
            inside[start:end] = [True] * (end - start)
        i = end
    return inside


def _capitalised(word: str) -> bool:
    return word[0].isupper() and word != "I"
