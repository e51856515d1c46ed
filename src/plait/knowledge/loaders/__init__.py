"""Loaders: files, uploads and URLs into Documents that remember where they came from.

Every document's metadata has ``source`` (the path or URL), ``file_name`` and ``file_type``; parsers add
``page`` (PDF, from 1), ``heading_path`` (Word sections), ``headings``/``title`` (Markdown, HTML),
``sheet``/``row`` (CSV, Excel) and ``index``/``line`` (JSON, JSON Lines). Failures are the typed errors of
``plait.knowledge.errors``, each naming the source.
"""

from plait.knowledge.loaders._common import DEFAULT_MAX_BYTES, ParseOptions, decode_text
from plait.knowledge.loaders.files import SUPPORTED_EXTENSIONS, FileLoader, load_bytes, load_file
from plait.knowledge.loaders.html import html_to_text
from plait.knowledge.loaders.text import MarkdownSection, markdown_sections
from plait.knowledge.loaders.url import UrlLoader

__all__ = [
    "DEFAULT_MAX_BYTES",
    "SUPPORTED_EXTENSIONS",
    "FileLoader",
    "MarkdownSection",
    "ParseOptions",
    "UrlLoader",
    "decode_text",
    "html_to_text",
    "load_bytes",
    "load_file",
    "markdown_sections",
]
