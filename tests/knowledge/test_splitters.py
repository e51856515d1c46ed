"""Splitters, measured with the same token counter they use: sizes, overlap, heading paths, sentence ends in
Chinese and English, parent-child links and cleaning."""

from __future__ import annotations

import itertools
import threading

import pytest

from plait.components import Splitter
from plait.knowledge.loaders import load_bytes
from plait.knowledge.splitters import (
    MarkdownSplitter,
    ParentChildSplitter,
    RecursiveSplitter,
    SentenceSplitter,
    clean,
    expand_to_parents,
    split_sentences,
)
from plait.models.tokens import count_text_tokens as tokens
from plait.schema import Document

ENGLISH = [
    "Retrieval works best when every chunk is about one thing.",
    "Dr. Lee measured recall at 3.5 times the baseline, e.g. on long manuals.",
    "Short one.",
    "Splitting on paragraphs first keeps related sentences together, and only long paragraphs are cut further "
    "into sentences, then words.",
    "Is overlap useful?",
    "It carries context across a boundary!",
]
CHINESE = [
    "知识库把文档切成小块。",
    "每一块都应该只讲一件事，这样检索才准确！",
    "他说：“分块太大会浪费上下文。”",
    "真的吗？",
    "是的；而且分块太小会丢失语境。",
]


def corpus(paragraphs: int = 12) -> str:
    out = []
    for i in range(paragraphs):
        sentences = ENGLISH if i % 3 else CHINESE
        out.append(" ".join(sentences[j % len(sentences)] for j in range(i, i + 3 + i % 5)))
    return "\n\n".join(out)


def spans(text: str, chunks: list[str]) -> list[tuple[int, int]]:
    """Where each chunk lies in ``text``, searching forward from the previous chunk's start."""
    found, start = [], 0
    for chunk in chunks:
        position = text.find(chunk, start)
        assert position >= 0, f"chunk is not a slice of the text: {chunk[:60]!r}"
        found.append((position, position + len(chunk)))
        start = position
    return found


def shared_overlap(first: str, second: str) -> str:
    """The longest end of ``first`` that ``second`` starts with."""
    for size in range(min(len(first), len(second)), 0, -1):
        if second.startswith(first[-size:]):
            return first[-size:]
    return ""


# Recursive


@pytest.mark.parametrize(("size", "overlap"), [(16, 4), (48, 12), (128, 32), (512, 64)])
def test_recursive_chunks_fit_cover_the_text_and_overlap(size: int, overlap: int) -> None:
    text = corpus()
    chunks = RecursiveSplitter(size, overlap).split_text(text)
    assert max(tokens(chunk) for chunk in chunks) <= size
    covered = spans(text, chunks)
    assert covered[0][0] == 0 and covered[-1][1] == len(text.rstrip())
    carried = []
    for (_, end), (start, _) in itertools.pairwise(covered):
        assert start <= end or not text[end:start].strip(), "text between two chunks was lost"
        carried.append(text[start:end].strip())
    assert all(tokens(piece) <= overlap for piece in carried)
    if size >= 48:  # in tiny chunks the overlap often has to make way for the next sentence
        assert sum(bool(piece) for piece in carried) >= len(carried) * 0.8


def test_recursive_without_overlap_loses_nothing_and_repeats_nothing() -> None:
    text = corpus()
    chunks = RecursiveSplitter(40, 0).split_text(text)
    assert "".join(chunks).replace(" ", "").replace("\n", "") == text.replace(" ", "").replace("\n", "")


def test_recursive_prefers_paragraph_boundaries() -> None:
    text = "First paragraph, short.\n\nSecond paragraph, also short.\n\nThird one."
    assert RecursiveSplitter(8, 0).split_text(text) == [
        "First paragraph, short.",
        "Second paragraph, also short.",
        "Third one.",
    ]
    assert RecursiveSplitter(512, 0).split_text(text) == [text]


@pytest.mark.parametrize("text", ["x" * 3000, "长" * 1500, "https://example.com/" + "a1b2" * 700])
def test_unsplittable_text_is_cut_by_characters(text: str) -> None:
    chunks = RecursiveSplitter(50, 10).split_text(text)
    assert len(chunks) > 1
    assert max(tokens(chunk) for chunk in chunks) <= 50
    assert spans(text, chunks)


def test_overlap_after_a_long_paragraph_is_cut_finer() -> None:
    """A chunk ending in one long sentence still hands on its last words, not nothing."""
    text = " ".join(f"word{i}" for i in range(400))
    chunks = RecursiveSplitter(64, 16).split_text(text)
    for first, second in itertools.pairwise(chunks):
        carried = shared_overlap(first, second)
        assert 0 < tokens(carried) <= 16


def test_a_custom_length_function() -> None:
    chunks = RecursiveSplitter(100, 20, length=len).split_text(corpus())
    assert max(len(chunk) for chunk in chunks) <= 100


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="chunk_overlap < chunk_size"):
        RecursiveSplitter(10, 10)
    with pytest.raises(ValueError, match="chunk_size >= 1"):
        SentenceSplitter(0, 0)


async def test_chunks_are_documents_that_remember_their_parent() -> None:
    parent = Document(id="doc-1", content=corpus(4), metadata={"source": "a.txt", "page": 2})
    chunks = await RecursiveSplitter(40, 8).split([parent])
    assert [chunk.id for chunk in chunks] == [f"doc-1#{i}" for i in range(len(chunks))]
    for index, chunk in enumerate(chunks):
        assert chunk.metadata == {
            "source": "a.txt",
            "page": 2,
            "chunk_index": index,
            "parent_id": "doc-1",
            "document_id": "doc-1",
        }
    assert parent.metadata == {"source": "a.txt", "page": 2}, "the parent was changed"


async def test_a_parent_without_an_id_gets_stable_hash_ids() -> None:
    document = Document(content="One.\n\nTwo.")
    first = await RecursiveSplitter(3, 0).split([document])
    again = await RecursiveSplitter(3, 0).split([Document(content="One.\n\nTwo.")])
    assert [c.id for c in first] == [c.id for c in again]
    assert first[0].id.startswith("doc-") and first[0].id.endswith("#0")
    assert await RecursiveSplitter().split([Document(id="blank", content=" \n\n ")]) == []


async def test_splitting_runs_off_the_event_loop() -> None:
    threads: set[int] = set()

    def length(text: str) -> int:
        threads.add(threading.get_ident())
        return len(text)

    await RecursiveSplitter(50, 0, length=length).split([Document(id="d", content=corpus(2))])
    assert threads and threading.get_ident() not in threads


def test_every_splitter_follows_the_protocol() -> None:
    for splitter in (RecursiveSplitter(), MarkdownSplitter(), SentenceSplitter(), ParentChildSplitter()):
        assert isinstance(splitter, Splitter)


# Markdown

MARKDOWN = """Intro before any heading.

# Guide

Welcome.

## Install

Run the installer.

```bash
# this comment is not a heading
make setup
```

### Linux

Use the package manager.

## Use

{long}

# FAQ

Answers.
"""


async def test_markdown_chunks_carry_their_heading_path() -> None:
    text = MARKDOWN.format(long=" ".join(ENGLISH * 6))
    chunks = await MarkdownSplitter(64, 8).split([Document(id="md", content=text)])
    assert max(tokens(chunk.content) for chunk in chunks) <= 64
    paths = [tuple(chunk.metadata["heading_path"]) for chunk in chunks]
    assert paths[:4] == [(), ("Guide",), ("Guide", "Install"), ("Guide", "Install", "Linux")]
    assert paths[-1] == ("FAQ",)
    assert paths.count(("Guide", "Use")) > 1, "the long section was split inside itself"
    install = chunks[2].content
    assert install.startswith("Guide > Install\n\nRun the installer.")
    assert "# this comment is not a heading\nmake setup\n```" in install
    assert chunks[0].content == "Intro before any heading."
    for chunk in chunks:
        if chunk.metadata["heading_path"] == ["Guide", "Use"]:
            assert chunk.content.startswith("Guide > Use\n\n")


async def test_markdown_without_prefix_keeps_the_heading_line() -> None:
    chunks = await MarkdownSplitter(512, 0, prefix_headings=False).split([Document(id="m", content=MARKDOWN)])
    assert chunks[1].content == "# Guide\n\nWelcome."
    assert chunks[1].metadata["heading_path"] == ["Guide"]


async def test_markdown_adds_to_a_heading_path_from_the_loader() -> None:
    document = Document(id="w", content="Text.\n\n## Detail\n\nMore.", metadata={"heading_path": ["Chapter 1"]})
    chunks = await MarkdownSplitter().split([document])
    assert [c.metadata["heading_path"] for c in chunks] == [["Chapter 1"], ["Chapter 1", "Detail"]]


async def test_markdown_splitter_cuts_html_by_its_headings() -> None:
    html = b"<html><body><h1>Top</h1><p>Alpha.</p><h2>Sub</h2><p>Beta.</p></body></html>"
    chunks = await MarkdownSplitter().split(await load_bytes(html, "page.html"))
    assert [(c.content, c.metadata["heading_path"]) for c in chunks] == [
        ("Top\n\nAlpha.", ["Top"]),
        ("Top > Sub\n\nBeta.", ["Top", "Sub"]),
    ]
    assert "headings" not in chunks[0].metadata, "the document outline is not copied into every chunk"
    assert chunks[0].metadata["title"] == "Top"


# Sentences


def test_chinese_sentence_boundaries() -> None:
    text = "他说：“分块太大。”然后走了！真的吗？是的；好。還有繁體句子｡英文标点也行!对吧?结束"
    assert split_sentences(text) == [
        "他说：“分块太大。”",
        "然后走了！",
        "真的吗？",
        "是的；",
        "好。",
        "還有繁體句子｡",
        "英文标点也行!",
        "对吧?",
        "结束",
    ]


def test_english_abbreviations_numbers_and_initials_do_not_end_sentences() -> None:
    text = (
        "Dr. Smith met J. R. Tolkien in the U.S. in 1937. It cost $3.50, e.g. a lot. See Fig. 2 for details. "
        'He said "Stop." Then he left... Why? Because! The answer was no. Next the list, etc. and more. '
        "Version 2.0 shipped. Contact www.example.com today.\n\nNew paragraph without a full stop\n\nLast"
    )
    assert split_sentences(text) == [
        "Dr. Smith met J. R. Tolkien in the U.S. in 1937. ",
        "It cost $3.50, e.g. a lot. ",
        "See Fig. 2 for details. ",
        'He said "Stop." ',
        "Then he left... ",
        "Why? ",
        "Because! ",
        "The answer was no. ",
        "Next the list, etc. and more. ",
        "Version 2.0 shipped. ",
        "Contact www.example.com today.\n\n",
        "New paragraph without a full stop\n\n",
        "Last",
    ]


def test_split_sentences_is_lossless() -> None:
    text = corpus()
    assert "".join(split_sentences(text)) == text


def test_sentence_chunks_end_at_sentence_ends_and_overlap_by_sentences() -> None:
    text = corpus()
    sentences = {sentence.strip() for sentence in split_sentences(text)}
    chunks = SentenceSplitter(60, 20).split_text(text)
    assert max(tokens(chunk) for chunk in chunks) <= 60
    for chunk in chunks:
        assert split_sentences(chunk)[-1].strip() in sentences, f"chunk ends mid-sentence: {chunk[-40:]!r}"
        assert split_sentences(chunk)[0].strip() in sentences, f"chunk starts mid-sentence: {chunk[:40]!r}"
    overlaps = [shared_overlap(a, b) for a, b in itertools.pairwise(chunks)]
    assert any(overlaps)
    for piece in filter(None, overlaps):
        assert tokens(piece) <= 20
        assert split_sentences(piece.strip())[0].strip() in sentences


def test_a_sentence_longer_than_a_chunk_is_cut() -> None:
    long_sentence = "这是一个非常长的句子，" * 60 + "结束。"
    chunks = SentenceSplitter(40, 8).split_text("短句。" + long_sentence + "又一句。")
    assert max(tokens(chunk) for chunk in chunks) <= 40
    assert chunks[-1].endswith("又一句。")


# Parent-child


async def test_children_point_to_parents_that_hold_them() -> None:
    splitter = ParentChildSplitter(RecursiveSplitter(120, 0), RecursiveSplitter(24, 4))
    document = Document(id="doc", content=corpus(), metadata={"source": "s.txt"})
    parents, children = await splitter.split_with_parents([document])
    by_id = {parent.id: parent for parent in parents}
    assert len(parents) > 1 and len(children) > len(parents)
    for child in children:
        parent = by_id[child.metadata["parent_id"]]
        assert child.content in parent.content
        assert child.metadata["parent_content"] == parent.content
        assert child.metadata["document_id"] == "doc"
        assert child.metadata["source"] == "s.txt"
        assert child.id.startswith(parent.id + "#")
        assert tokens(child.content) <= 24
    assert all(tokens(parent.content) <= 120 for parent in parents)
    assert await splitter.split([document]) == children


async def test_parents_can_be_kept_out_of_the_children() -> None:
    splitter = ParentChildSplitter(store_parent_content=False)
    children = await splitter.split([Document(id="d", content=corpus())])
    assert children and all("parent_content" not in child.metadata for child in children)


async def test_expand_to_parents_returns_each_parent_once_best_first() -> None:
    splitter = ParentChildSplitter(RecursiveSplitter(60, 0), RecursiveSplitter(16, 0))
    children = await splitter.split([Document(id="doc", content=corpus(6))])
    first_parent = children[0].metadata["parent_id"]
    siblings = [c for c in children if c.metadata["parent_id"] == first_parent]
    other = next(c for c in children if c.metadata["parent_id"] != first_parent)
    retrieved = [Document(id=c.id, content=c.content, metadata=c.metadata, score=s) for c, s in [
        (siblings[1], 0.9), (other, 0.8), (siblings[0], 0.7)
    ]]  # fmt: skip
    stray = Document(id="plain", content="no parent", score=0.1)
    expanded = expand_to_parents([*retrieved, stray])
    assert [d.id for d in expanded] == [first_parent, other.metadata["parent_id"], "plain"]
    assert expanded[0].content == siblings[0].metadata["parent_content"]
    assert expanded[0].score == 0.9
    assert expanded[0].metadata["chunk_ids"] == [siblings[1].id, siblings[0].id]
    assert expanded[0].metadata["parent_id"] == "doc"
    assert "parent_content" not in expanded[0].metadata


# Cleaning


def test_clean_collapses_spaces_but_keeps_paragraphs_and_indentation() -> None:
    text = "a   b\t\tc  \r\n\n\n\n    indented   code\n\u3000\u3000中文\u3000段落\nend   "
    assert clean(text) == "a b c\n\n    indented code\n\u3000\u3000中文 段落\nend"
    assert clean(text, collapse_spaces=False) == text.replace("\r\n", "\n")


def test_clean_removes_urls_and_emails_when_asked() -> None:
    text = "Mail ops@example.com or see https://example.com/a?b=1. 访问www.example.cn。联系a.b@corp.io，谢谢"
    assert clean(text) == text
    assert clean(text, remove_urls_emails=True) == "Mail or see . 访问。联系，谢谢"


async def test_splitters_clean_before_splitting() -> None:
    document = Document(id="d", content="Write   to me@example.com   today.")
    [kept] = await SentenceSplitter().split([document])
    [dropped] = await SentenceSplitter(remove_urls_emails=True).split([document])
    [raw] = await RecursiveSplitter(collapse_spaces=False).split([document])
    assert (kept.content, dropped.content, raw.content) == (
        "Write to me@example.com today.",
        "Write to today.",
        document.content,
    )
