"""Loaders and splitters on hostile input: long runs of one character, megabyte lines, deep nesting, huge
fields, many tiny rows. Each case checks the output and that it finishes far under a bound the quadratic
code this replaced blew by minutes (a single Markdown line of 100,000 spaces held the GIL that long).
Bounds are over ten times the measured time, so a loaded machine does not make them flaky."""

from __future__ import annotations

import copy
import io
import time
from collections.abc import Callable
from typing import Any, TypeVar

import docx
import pytest
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

from plait.knowledge.errors import CorruptDocument, EmptyDocument
from plait.knowledge.loaders import load_bytes, markdown_sections
from plait.knowledge.splitters import MarkdownSplitter, RecursiveSplitter, SentenceSplitter, clean
from plait.knowledge.splitters.recursive import hard_split
from plait.schema import Document

T = TypeVar("T")
MB = 1_000_000


def timed(call: Callable[[], T], bound: float) -> T:
    """``call()``, failing if it took ``bound`` seconds or more."""
    start = time.perf_counter()
    result = call()
    seconds = time.perf_counter() - start
    assert seconds < bound, f"took {seconds:.1f}s, bound {bound}s"
    return result


async def load(data: bytes, file_name: str, bound: float) -> list[Document]:
    start = time.perf_counter()
    documents = await load_bytes(data, file_name, max_bytes=10 * MB)
    seconds = time.perf_counter() - start
    assert seconds < bound, f"took {seconds:.1f}s, bound {bound}s"
    return documents


# Markdown headings


@pytest.mark.parametrize(
    ("line", "heading"),
    [
        ("# a" + " " * MB + "b", (1, "a" + " " * MB + "b")),  # spaces inside the text stay
        ("# a" + " " * MB + "#" * 1000, (1, "a")),  # closing #s after a megabyte of spaces
        ("## a" + "\t " * (MB // 2), (2, "a")),  # trailing blanks
        ("# " + "#" * MB, (1, "#" * MB)),  # only #s: no space before them, so they are the text
        ("#" + " " * MB, (1, "")),  # an empty heading
        ("#" * MB, None),  # seven or more #s: not a heading
        ("#" * 6 + "a" * MB, None),  # no space after the #s
        ("    # a" + " " * MB, None),  # four spaces in: code, not a heading
    ],
)
def test_markdown_heading_lines(line: str, heading: tuple[int, str] | None) -> None:
    sections = timed(lambda: markdown_sections(line + "\nbody\n"), bound=2)
    if heading is None:
        assert [(s.level, s.heading_path) for s in sections] == [(0, ())]
    else:
        level, text = heading
        assert [(s.level, s.heading_path, s.body) for s in sections] == [(level, (text,), "body\n")]


def test_markdown_with_many_tiny_lines() -> None:
    text = "# h\nx\n" * 200_000
    sections = timed(lambda: markdown_sections(text), bound=15)
    assert len(sections) == 200_000
    assert {(s.heading_path, s.body) for s in sections} == {(("h",), "x\n")}


async def test_markdown_file_with_a_megabyte_heading_line() -> None:
    [document] = await load(("# a" + " " * MB + "b\n\ntext\n").encode(), "spaces.md", bound=5)
    assert document.metadata["headings"] == [{"level": 1, "text": "a" + " " * MB + "b"}]


# Cleaning


@pytest.mark.parametrize(
    ("text", "cleaned"),
    [
        ("x\n" + " " * MB + "b", "x\n" + " " * MB + "b"),  # leading indentation is kept
        ("x\n" + " " * MB + "\nb", "x\n\nb"),  # a blank line of spaces goes
        ("x" + " \t" * MB + "\ny", "x\ny"),  # trailing spaces go
        ("\u3000" * MB + "中文", "\u3000" * MB + "中文"),
        ("a \n" * 300_000, "a\n" * 299_999 + "a\n"),
        ("\n" * MB, "\n\n"),
    ],
)
def test_clean(text: str, cleaned: str) -> None:
    assert timed(lambda: clean(text), bound=2) == cleaned


@pytest.mark.parametrize("text", ["http://" + "." * MB, "a@" + "b" * MB, "a" + ".a" * (MB // 2) + "@", "www." * MB])
def test_clean_urls_and_emails(text: str) -> None:
    timed(lambda: clean(text, remove_urls_emails=True), bound=3)


# Splitters (measured with len: the token counter is not what is under test, and it is slow on a megabyte)


@pytest.mark.parametrize("text", ["!" * MB, "." * MB, "?;" * (MB // 2), "." + ")" * (MB - 1), "a" * MB, "长" * MB])
def test_recursive_splitter_on_one_repeated_character(text: str) -> None:
    """Cut by characters; each chunk also looks for an overlap to hand on (full chunks leave no room)."""
    chunks = timed(lambda: RecursiveSplitter(500, 50, length=len).split_text(text), bound=5)
    assert "".join(chunks) == text
    assert max(map(len, chunks)) == 500


def test_hard_split_does_not_copy_the_rest_for_every_piece() -> None:
    """Four bytes a character, so that copying the rest of the text after every piece (quadratic) shows."""
    pieces = timed(lambda: hard_split("😀" * 2 * MB, 10, len), bound=8)
    assert pieces == [("😀" * 10, 10)] * (2 * MB // 10)


def test_recursive_splitter_on_many_tiny_lines() -> None:
    text = "ab\n" * 300_000
    chunks = timed(lambda: RecursiveSplitter(300, 0, length=len).split_text(text), bound=5)
    assert len(chunks) == 3000
    assert "\n".join(chunks) + "\n" == text


@pytest.mark.parametrize("text", ["." * MB, "!?" * (MB // 2), "a." * (MB // 2)])
def test_sentence_splitter(text: str) -> None:
    chunks = timed(lambda: SentenceSplitter(500, 0, length=len).split_text(text), bound=10)
    assert "".join(chunks) == text


async def test_markdown_splitter_long_heading_over_many_sections() -> None:
    """A heading path too long to repeat is not tokenised again for every section under it."""
    title = "t " * 100_000
    text = f"# {title}\n" + "".join(f"## {i}\nx\n" for i in range(20_000))
    start = time.perf_counter()
    chunks = await MarkdownSplitter().split([Document(id="d", content=text)])
    assert time.perf_counter() - start < 20
    title = title.strip()
    sections = [(chunk.content, chunk.metadata["heading_path"]) for chunk in chunks[-20_000:]]
    assert sections == [(f"## {i}\nx", [title, str(i)]) for i in range(20_000)]
    assert {tuple(chunk.metadata["heading_path"]) for chunk in chunks[:-20_000]} == {(title,)}


# HTML

N = 20_000


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>x</p>" * N, "\n\n".join(["x"] * N)),
        ("x<br>" * N, "\n".join(["x"] * N)),
        ("x<b></b>" * 2 * N, "x" * 2 * N),
        ("<li>x" * N, "\n".join(["- x"] * N)),  # an unclosed item ends where the next begins
        ("<div>" * N + "x", "x"),
        ("<div>x" * N, "\n".join(["x"] * N)),
        ("<table><tr>" + "<td>x" * N, " | ".join(["x"] * N)),  # unclosed cells nest
        ("<table><tr><td>x" * N, " | ".join(["x"] * N)),  # tables in tables
        ("<script></script><!--c-->" * N + "x", "x"),
    ],
)
async def test_html(html: str, text: str) -> None:
    [document] = await load(html.encode(), "page.html", bound=15)
    assert document.content == text


@pytest.mark.parametrize("html", ["<a" * 50_000, "<!--x>" * 50_000, "<![CDATA[" * 100_000])
async def test_malformed_markup_that_stalls_the_standard_library_parser(html: str) -> None:
    """Python's html.parser before CVE-2025-6069's fix takes 17-31 s on each of these; lxml parses them at once
    and finds no text: a typed error for the client, at once."""
    start = time.perf_counter()
    with pytest.raises(EmptyDocument):
        await load_bytes(html.encode(), "page.html", max_bytes=10 * MB)
    assert time.perf_counter() - start < 5


async def test_html_headings_nested_in_headings() -> None:
    [document] = await load(("<h1>x" * N).encode(), "page.html", bound=15)
    assert document.content == "# " + " ".join(["x"] * N)
    assert document.metadata["headings"] == [{"level": 1, "text": " ".join(["x"] * N)}]


async def test_html_megabyte_of_text() -> None:
    [document] = await load(("<p>" + "a  " * (MB // 3)).encode(), "page.html", bound=5)
    assert document.content == ("a " * (MB // 3)).strip()


# CSV, JSON, JSON Lines


async def test_csv_with_a_wide_header_and_many_rows() -> None:
    data = ("a," * 150_000 + "\n" + "x\n" * 150_000).encode()
    documents = await load(data, "wide.csv", bound=15)
    assert len(documents) == 150_000
    assert {document.content for document in documents} == {"a: x"}


async def test_csv_huge_fields() -> None:
    field = "x" * 120_000  # the csv module refuses fields over 128 KiB
    documents = await load(f'h,g\n"{field}",{field}\n'.encode(), "huge.csv", bound=5)
    assert [document.content for document in documents] == [f"h: {field}\ng: {field}"]
    with pytest.raises(CorruptDocument, match="field larger than field limit"):
        await load(("h\n" + "x" * MB + "\n").encode(), "huge.csv", bound=5)


async def test_json_lines_with_a_huge_field_and_many_tiny_lines() -> None:
    [document] = await load(('{"a": "' + "x" * MB + '"}').encode(), "huge.jsonl", bound=5)
    assert document.content == '{\n  "a": "' + "x" * MB + '"\n}'
    documents = await load(b"1\n" * 50_000, "tiny.jsonl", bound=15)
    assert [document.metadata["line"] for document in documents] == list(range(1, 50_001))


@pytest.mark.parametrize("file_name", ["deep.json", "deep.jsonl"])
async def test_json_nested_too_deep_is_corrupt(file_name: str) -> None:
    with pytest.raises(CorruptDocument, match="recursion"):
        await load(b"[" * 100_000 + b"]" * 100_000, file_name, bound=5)


async def test_deep_json_without_an_extension_is_text() -> None:
    [document] = await load(b"[" * 100_000, "deep", bound=5)
    assert document.metadata["file_type"] == "txt"


# Word


def docx_bytes(document: Any) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def add_style(document: Any, style_id: str, name: str, based_on: str | None = None) -> None:
    style = OxmlElement("w:style", {qn("w:type"): "paragraph", qn("w:styleId"): style_id})
    style.append(OxmlElement("w:name", {qn("w:val"): name}))
    if based_on is not None:
        style.append(OxmlElement("w:basedOn", {qn("w:val"): based_on}))
    document.styles.element.append(style)


def styled_paragraph(document: Any, text: str, style_id: str) -> None:
    document.add_paragraph(text)._p.get_or_add_pPr().get_or_add_pStyle().set(qn("w:val"), style_id)


async def test_docx_with_styles_based_on_each_other_in_a_cycle() -> None:
    document = docx.Document()
    add_style(document, "A", "Loop A", based_on="B")
    add_style(document, "B", "Loop B", based_on="A")
    styled_paragraph(document, "in a loop", "A")
    [loaded] = await load(docx_bytes(document), "cycle.docx", bound=5)
    assert loaded.content == "in a loop"


async def test_docx_with_a_long_chain_of_base_styles() -> None:
    """3,000 styles, each based on the one before, the first a heading: every paragraph is a heading."""
    document = docx.Document()
    add_style(document, "S0", "heading 2")
    for i in range(1, 3000):
        add_style(document, f"S{i}", f"Style {i}", based_on=f"S{i - 1}")
    for i in range(3000):
        styled_paragraph(document, f"p{i}", f"S{2999 - i}")
    loaded = await load(docx_bytes(document), "chain.docx", bound=15)
    assert [d.metadata["heading_path"] for d in loaded] == [[f"p{i}"] for i in range(3000)]


async def test_docx_table_spans_and_long_vertical_merges() -> None:
    document = docx.Document()
    table = document.add_table(rows=3, cols=2)
    for row, (key, value) in enumerate([("k", "v"), ("merged", "1"), ("", "2")]):
        table.cell(row, 0).text, table.cell(row, 1).text = key, value
    header, first, below = table._tbl.tr_lst
    header.tc_lst[0].get_or_add_tcPr().get_or_add_gridSpan().set(qn("w:val"), "2000000000")
    first.tc_lst[0].get_or_add_tcPr().get_or_add_vMerge().set(qn("w:val"), "restart")
    below.tc_lst[0].get_or_add_tcPr().get_or_add_vMerge()  # continue the merge
    for _ in range(5000):
        table._tbl.append(copy.deepcopy(below))
    [loaded] = await load(docx_bytes(document), "table.docx", bound=10)
    assert loaded.content == "\n".join(["k | v", "merged | 1"] + ["merged | 2"] * 5001)
