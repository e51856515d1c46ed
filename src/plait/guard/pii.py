"""PII masking: emails, phone numbers, ID and card numbers found in free text are replaced by a typed
placeholder (``[EMAIL]``, ``[PHONE]``, ``[ID]``, ``[CARD]``), so logs and model prompts carry no personal data.

Pure and regex-based. Numbers that carry a checksum are masked only when it holds (a card by Luhn, a mainland
resident ID by its ISO 7064 check digit), so order numbers and timestamps survive; the patterns run most
specific first, and a placeholder has no digit or ``@`` for a later pattern to match."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

EMAIL = "[EMAIL]"
PHONE = "[PHONE]"
ID = "[ID]"
CARD = "[CARD]"

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def luhn_valid(digits: str) -> bool:
    """The card-number checksum (ISO/IEC 7812)."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def resident_id_check(first17: str) -> str:
    """The 18th character of a mainland China resident ID (GB 11643-1999)."""
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def resident_id_valid(number: str) -> bool:
    return len(number) == 18 and number[:17].isdigit() and resident_id_check(number[:17]) == number[17].upper()


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


@dataclass(frozen=True, slots=True)
class _Rule:
    placeholder: str
    pattern: re.Pattern[str]
    valid: Callable[[str], bool] | None = None


_NOT_BEFORE = r"(?<![\w@.+-])"  # a number inside a longer token (a hash, a version) is not PII
_NOT_AFTER = r"(?![\w@-])"
_RULES = (
    _Rule(EMAIL, re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}", re.ASCII)),
    _Rule(ID, re.compile(_NOT_BEFORE + r"\d{17}[\dXx]" + _NOT_AFTER, re.ASCII), resident_id_valid),
    _Rule(
        CARD,
        re.compile(_NOT_BEFORE + r"\d(?:[ -]?\d){12,18}" + _NOT_AFTER, re.ASCII),
        lambda text: luhn_valid(_digits(text)),
    ),
    # Mainland mobiles (1[3-9] and 9 digits, optionally +86 and grouped 3-4-4), then other formats.
    _Rule(PHONE, re.compile(r"(?<![\w+])(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}" + _NOT_AFTER, re.ASCII)),
    _Rule(PHONE, re.compile(r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}" + _NOT_AFTER, re.ASCII)),
    _Rule(PHONE, re.compile(r"(?<![\w+])(?:\(\d{3}\) ?|\d{3}[.-])\d{3}[.-]\d{4}" + _NOT_AFTER, re.ASCII)),
    _Rule(PHONE, re.compile(r"(?<![\w+])0\d{2,3}-\d{7,8}" + _NOT_AFTER, re.ASCII)),  # mainland landlines
    _Rule(ID, re.compile(r"(?<![\w-])\d{3}-\d{2}-\d{4}" + _NOT_AFTER, re.ASCII)),  # US social security numbers
)


def _replace(rule: _Rule) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        return rule.placeholder if rule.valid is None or rule.valid(match[0]) else match[0]

    return replace


_REPLACERS = tuple((rule.pattern, _replace(rule)) for rule in _RULES)


def mask(text: str) -> str:
    """``text`` with its PII replaced by placeholders; the rest is left byte for byte."""
    if not any(c.isdigit() or c == "@" for c in text):  # the common case, no regex run at all
        return text
    for pattern, replace in _REPLACERS:
        text = pattern.sub(replace, text)
    return text
