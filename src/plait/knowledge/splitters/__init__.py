"""Splitters: documents into chunks sized in tokens, in English and Chinese.

``RecursiveSplitter`` for any text, ``MarkdownSplitter`` for Markdown and HTML (by headings),
``SentenceSplitter`` when chunks must end at sentence ends, ``ParentChildSplitter`` to match on small chunks
and answer with large ones. Every chunk is a Document with id ``<parent id>#<n>``, its parent's metadata,
and ``chunk_index``, ``parent_id``, ``document_id`` (and ``heading_path`` where known).
"""

from plait.knowledge.splitters.clean import clean
from plait.knowledge.splitters.markdown import MarkdownSplitter
from plait.knowledge.splitters.parent_child import ParentChildSplitter, expand_to_parents
from plait.knowledge.splitters.recursive import DEFAULT_SEPARATORS, RecursiveSplitter
from plait.knowledge.splitters.sentences import SentenceSplitter, split_sentences

__all__ = [
    "DEFAULT_SEPARATORS",
    "MarkdownSplitter",
    "ParentChildSplitter",
    "RecursiveSplitter",
    "SentenceSplitter",
    "clean",
    "expand_to_parents",
    "split_sentences",
]
