"""Language detection by Unicode script: no model and no dictionary, so it is cheap enough to run on every text.

The script with the most estimated words wins. Han characters count three times (a Chinese word is one to two
characters, an English word about five letters), kana and Hangul twice. Latin-script text is English unless the
function words of another common European language clearly outnumber English ones. Scripts shared by many
languages map to their most common one (Cyrillic "ru", Arabic "ar", Devanagari "hi"); text with no letters
gives "other".
"""

from __future__ import annotations

import re

from plait.nlu._resources import converter, ensure_text

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
HAN_RE = re.compile(f"[{HAN}]")

_KANA = "\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f"
_SCRIPTS: tuple[tuple[str, re.Pattern[str], float], ...] = (
    ("zh", re.compile(f"[{HAN}]+"), 3.0),
    ("ja", re.compile(f"[{_KANA}]+"), 2.0),
    ("ko", re.compile("[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]+"), 2.0),
    ("latin", re.compile("[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\uff21-\uff3a\uff41-\uff5a]+"), 1.0),
    ("ru", re.compile("[\u0400-\u04ff]+"), 1.0),
    ("el", re.compile("[\u0370-\u03ff]+"), 1.0),
    ("ar", re.compile("[\u0600-\u06ff]+"), 1.0),
    ("he", re.compile("[\u0590-\u05ff]+"), 1.0),
    ("hi", re.compile("[\u0900-\u097f]+"), 1.0),
    ("th", re.compile("[\u0e00-\u0e7f]+"), 1.0),
)
_KANA_SHARE = 0.1  # Japanese prose is mostly kana; Chinese text has at most a stray quoted kana

# Frequent function words per language; the non-English lists leave out words common in English text too.
_FUNCTION_WORDS: dict[str, frozenset[str]] = {
    lang: frozenset(words.split())
    for lang, words in {
        "en": "the and of to is was that with for are this by from have which it be on were not",
        "fr": "le les des est et une du pour qui dans pas sur avec au aux ce sont ne",
        "de": "der die und ist nicht das ein eine mit sich auf dem den zu von im für auch wird",
        "es": "el los las y es una por con para del se como lo al más pero su",
        "it": "il di che è per della non sono gli con le nel alla una anche",
        "pt": "o os é não uma com para da em que um na ao dos",
        "nl": "het een van niet dat op te zijn met voor er maar ook wordt als bij",
    }.items()
}
_LATIN_WORD = re.compile("[a-z\u00c0-\u024f]+")


def detect_language(text: str) -> str:
    """Return "zh" (simplified or traditional), "en", another ISO 639-1 code, or "other" when there are no letters."""
    ensure_text(text)
    counts = {name: sum(map(len, pattern.findall(text))) for name, pattern, _ in _SCRIPTS}
    if counts["ja"] and counts["ja"] >= _KANA_SHARE * (counts["ja"] + counts["zh"]):
        counts["ja"] += counts.pop("zh")  # kanji in Japanese text
    weights = {name: weight for name, _, weight in _SCRIPTS}
    best = max(counts, key=lambda name: counts[name] * weights[name])
    if not counts[best]:
        return "other"
    return _latin_language(text) if best == "latin" else best


def _latin_language(text: str) -> str:
    words = _LATIN_WORD.findall(text.lower())
    hits = {lang: sum(word in vocabulary for word in words) for lang, vocabulary in _FUNCTION_WORDS.items()}
    best = max(hits, key=hits.__getitem__)
    return best if hits[best] >= 2 and hits[best] > hits["en"] else "en"


def is_traditional(text: str) -> bool:
    """Whether Chinese text is written in traditional characters.

    Compares the characters only traditional text uses (those OpenCC changes converting to simplified) with
    those only simplified text uses (changed converting to both Taiwan and Hong Kong traditional, which leaves
    out variants either standard keeps, such as 台 and 群). Text without Han characters, or with only characters
    common to both forms, is not traditional.
    """
    ensure_text(text)
    if not HAN_RE.search(text):
        return False
    simplified: str = converter("t2s").convert(text)
    traditional_only = sum(a != b for a, b in zip(text, simplified, strict=False))
    taiwan: str = converter("s2tw").convert(text)
    hong_kong: str = converter("s2hk").convert(text)
    simplified_only = sum(a != b and a != c for a, b, c in zip(text, taiwan, hong_kong, strict=False))
    return traditional_only > simplified_only
