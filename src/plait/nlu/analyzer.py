"""The search analyzer: text to the terms a BM25 index stores and a query looks up.

Defaults were chosen by measuring BM25 nDCG@10 with ``benchmarks/analyzer_check.py`` (SciFact train for English,
CMRC 2018 and DRCD for Chinese); the docstring of :class:`Analyzer` says what each setting is for.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import KW_ONLY, dataclass, field
from typing import Literal

from plait.nlu._resources import converter, ensure_text, jieba_tokenizer, stemmer
from plait.nlu.language import HAN_RE
from plait.nlu.stopwords import CHINESE as CHINESE_STOPWORDS
from plait.nlu.stopwords import ENGLISH as ENGLISH_STOPWORDS

ChineseCut = Literal["search", "exact"]

_ENGLISH_RULES = frozenset({"auto", "en", "zh"})
_WORD = re.compile(r"[^\W_]+")  # runs of letters and digits: punctuation, symbols and underscores split words


@dataclass(frozen=True, slots=True)
class Analyzer:
    """Turns text into index and query terms; picklable (it holds settings only, resources live per process).

    Han characters are segmented by jieba and everything else is lowercased and split on non-alphanumerics, run
    by run, so English, Chinese and text mixing them get the same treatment whatever language a single text is
    detected as: a query and the documents it should match always produce comparable terms. Words of one
    character outside Han text are dropped, as in bm25s and scikit-learn (measured slightly better on SciFact).

    Settings:
      - ``language``: "auto", "en" or "zh" stem non-Han words with English Snowball and drop Lucene's English
        stop words; another Snowball language ("fr", "german", ...) stems with that language, keeps every word.
      - ``stopwords``: drop English stop words.
      - ``chinese_stopwords``: drop a short list of Chinese particles; off, as BM25's IDF already discounts them
        and the gain measured was within noise.
      - ``chinese_cut``: "search" adds the dictionary words found inside long words (jieba ``cut_for_search``),
        "exact" keeps a single segmentation.
      - ``hmm``: let jieba guess words missing from its dictionary; off, because a guessed word is segmented
        differently from one context to the next, while single characters always match.
      - ``simplify``: convert traditional characters to simplified first (OpenCC t2s): jieba's dictionary is
        simplified.
      - ``stem``: Snowball stemming.
    """

    language: str = "auto"
    _: KW_ONLY
    stopwords: bool = True
    chinese_stopwords: bool = False
    chinese_cut: ChineseCut = "search"
    hmm: bool = False
    simplify: bool = True
    stem: bool = True
    _algorithm: str = field(init=False, repr=False, compare=False)
    _stop: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.chinese_cut not in ("search", "exact"):
            raise ValueError(f"chinese_cut must be 'search' or 'exact', not {self.chinese_cut!r}")
        algorithm = "english" if self.language in _ENGLISH_RULES else self.language
        try:
            stemmer(algorithm)
        except KeyError:
            raise ValueError(f"no Snowball stemmer for language {self.language!r}") from None
        english = algorithm == "english"
        object.__setattr__(self, "_algorithm", algorithm)
        object.__setattr__(self, "_stop", ENGLISH_STOPWORDS if self.stopwords and english else frozenset())

    def __call__(self, text: str) -> list[str]:
        ensure_text(text)
        text = unicodedata.normalize("NFKC", text)  # full-width letters and digits, compatibility ideographs
        if not HAN_RE.search(text):
            return self._words(text)
        if self.simplify:
            text = converter("t2s").convert(text)
        jieba = jieba_tokenizer()
        cut = jieba.cut_for_search if self.chinese_cut == "search" else jieba.cut
        terms: list[str] = []
        for piece in cut(text, HMM=self.hmm):
            if piece.isascii() or not HAN_RE.search(piece):
                terms += self._words(piece)
            elif not (self.chinese_stopwords and piece in CHINESE_STOPWORDS):
                terms.append(piece.lower())  # dictionary words may hold Latin letters: "A股", "T恤"
        return terms

    def _words(self, text: str) -> list[str]:
        words = [word for word in _WORD.findall(text.lower()) if len(word) > 1 and word not in self._stop]
        return stemmer(self._algorithm).stemWords(words) if self.stem and words else words
