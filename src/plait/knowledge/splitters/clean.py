"""Text cleaning before splitting: extracted text (PDF, HTML) is full of space runs that cost tokens and
change nothing, and URLs or e-mail addresses are noise for retrieval (or must not be indexed at all)."""

from __future__ import annotations

import re

_SPACE = "[ \\t\\u00a0\\u3000]"
_INNER_SPACES = re.compile(f"(?<=\\S){_SPACE}{{2,}}|(?<=\\S)[\\t\\u00a0\\u3000]")
# Only from the start of a run: from every space of it, a run that ends mid-line is rescanned to its end.
_TRAILING_SPACES = re.compile(f"(?<!{_SPACE}){_SPACE}+$", re.MULTILINE)
_BLANK_LINES = re.compile(r"\n{3,}")
_STOP = "\\s<>\"'()（），。！？；：、「」"  # a URL also ends at Chinese punctuation
_URL = re.compile(f"(?<![A-Za-z0-9])(?:https?://|ftp://|www\\.)[^{_STOP}]*[^{_STOP}.,;:!?]", re.IGNORECASE)
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+\b")


def clean(text: str, *, collapse_spaces: bool = True, remove_urls_emails: bool = False) -> str:
    """Normalise line endings; with ``collapse_spaces`` turn runs of spaces and tabs inside a line into one
    space, drop trailing spaces and keep at most one blank line (paragraph breaks survive, and so does a
    line's leading indentation, which is code in Markdown); with ``remove_urls_emails`` drop both."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if remove_urls_emails:
        text = _EMAIL.sub("", _URL.sub("", text))
    if collapse_spaces:
        text = _INNER_SPACES.sub(" ", text)
        text = _TRAILING_SPACES.sub("", text)
        text = _BLANK_LINES.sub("\n\n", text)
    return text
