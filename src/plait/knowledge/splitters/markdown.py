"""Markdown by its structure: one or more chunks per heading section, never one chunk across two sections,
each knowing its ``heading_path``. Also right for HTML pages, whose loader writes headings as ``#`` lines."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from plait.knowledge.loaders.text import markdown_sections
from plait.knowledge.splitters._base import BaseSplitter, Length
from plait.knowledge.splitters.recursive import DEFAULT_SEPARATORS, RecursiveSplitter
from plait.models.tokens import count_text_tokens
from plait.schema import Document


class MarkdownSplitter(BaseSplitter):
    """Cut at headings (``#`` to ``######``, not inside code fences), then recursively inside a section.

    With ``prefix_headings`` (the default) each chunk starts with its heading path, ``Guide > Install``, so
    a chunk about "the second step" still says what it is about when it is embedded or shown alone; the
    prefix counts towards ``chunk_size``. Without it the section's own heading line stays in its text.
    A heading path already in the document's metadata (a Word section) goes in front of the Markdown one.
    """

    def __init__(
        self,
        chunk_size: int = 512,
        chunk_overlap: int = 64,
        *,
        prefix_headings: bool = True,
        separators: Sequence[str] = DEFAULT_SEPARATORS,
        length: Length = count_text_tokens,
        collapse_spaces: bool = True,
        remove_urls_emails: bool = False,
    ) -> None:
        super().__init__(collapse_spaces=collapse_spaces, remove_urls_emails=remove_urls_emails)
        self.prefix_headings = prefix_headings
        self.length = length
        self.chunk_size = chunk_size
        self._recursive = RecursiveSplitter(chunk_size, chunk_overlap, separators, length)

    def _pieces(self, text: str, document: Document) -> Iterable[tuple[str, dict[str, Any]]]:
        inherited = list(document.metadata.get("heading_path", []))
        for section in markdown_sections(text):
            path = inherited + list(section.heading_path)
            # A path that long cannot fit half a chunk (a token is rarely over 16 characters); it is not joined
            # or counted, or one long heading over thousands of short sections is tokenised once per section.
            too_long = sum(map(len, path)) > 16 * self.chunk_size
            prefix = " > ".join(path) + "\n\n" if self.prefix_headings and path and not too_long else ""
            budget = self.chunk_size - self.length(prefix)
            if too_long or budget < max(1, self.chunk_size // 2):  # headings too long to repeat in every chunk
                prefix, budget = "", self.chunk_size
            body = section.body if prefix else section.heading_line + section.body
            for chunk in self._recursive.split_text(body, budget) if body.strip() else []:
                # The prefix and the chunk are counted apart; in the rare case they merge into more tokens
                # than that, the chunk goes without the prefix (its heading path is still in the metadata).
                prefixed = prefix + chunk
                fits = not prefix or self.length(prefixed) <= self.chunk_size
                yield (prefixed if fits else chunk), {"heading_path": path}
