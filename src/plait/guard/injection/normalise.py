"""Input normalisation before the rules and the classifier see a text, so that an instruction cannot hide from them
behind characters a model reads through: full-width or styled letters (``ｉｇｎｏｒｅ``, NFKC folds them), invisible
characters between letters (zero-width spaces and joiners, soft hyphens, bidi controls), and Unicode tag
characters (U+E0020-E007E), which spell ASCII that no screen shows but a model may read ("ASCII smuggling"):
those are decoded to the ASCII they spell. Cyrillic and Greek look-alikes inside a Latin word (``ignоre`` with a
Cyrillic ``о``) are read as the Latin letters they imitate; a word wholly in Cyrillic or Greek is left alone."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_TAG_BASE = 0xE0000
_TAGS = re.compile("[\U000e0020-\U000e007e]+")
# format characters (Cf), blank Hangul fillers, variation selectors: invisible; a word split by one reads whole
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e0fff]"
)


# Cyrillic and Greek letters drawn like Latin ones
_SHAPES = "аеорсухіјѕԁɡһӏԛԝАВЕКМНОРСТХІЈЅαοριυνΑΒΕΖΗΙΚΜΝΟΡΤΥΧ"
_LOOKALIKES = str.maketrans(_SHAPES, "aeopcyxijsdghlqwABEKMHOPCTXIJSaopiuvABEZHIKMNOPTYX")
_DISGUISED = re.compile(rf"\w*[{_SHAPES}]\w*")
_LATIN = re.compile("[a-zA-Z]")


def _latin(match: re.Match[str]) -> str:
    word = match.group()
    return word.translate(_LOOKALIKES) if _LATIN.search(word) else word


def _untag(match: re.Match[str]) -> str:
    return "".join(chr(ord(c) - _TAG_BASE) for c in match.group())


@lru_cache(maxsize=8)  # `detect` hands the same text to the rules and then to the classifier
def normalise(text: str) -> str:
    """``text`` as the detector reads it: tag characters decoded, other invisible characters dropped, NFKC, look-alikes
    in Latin words made Latin."""
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKC", _INVISIBLE.sub("", _TAGS.sub(_untag, text)))
    return _DISGUISED.sub(_latin, text)
