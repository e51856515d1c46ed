"""Loaders on files built here (PDF by hand, Word and Excel with their libraries) and the URL loader against a
real HTTP server on 127.0.0.1. Refusals of internal addresses are checked with sending disabled: no traffic
ever leaves loopback."""

from __future__ import annotations

import asyncio
import datetime
import io
import json
import socket
import threading
import time
import zipfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docx
import httpx
import pytest
import uvicorn
from openpyxl import Workbook  # type: ignore[import-untyped]
from pypdf import PdfReader, PdfWriter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from plait.components import Loader
from plait.knowledge.errors import (
    CorruptDocument,
    DocumentTooLarge,
    EmptyDocument,
    KnowledgeError,
    SourceNotAllowed,
    UnsupportedFileType,
)
from plait.knowledge.loaders import (
    SUPPORTED_EXTENSIONS,
    FileLoader,
    ParseOptions,
    UrlLoader,
    decode_text,
    load_bytes,
    load_file,
    markdown_sections,
)
from plait.knowledge.loaders import files as files_module

CHINESE = "知识库支持多种文件格式：文本、网页、PDF、Word 文档和表格。我们在中文环境下测试编码检测。"
TRADITIONAL = "知識庫支援多種檔案格式，包括網頁與表格。這是繁體中文的測試檔案。"


def make_pdf(pages: list[str]) -> bytes:
    """A minimal valid PDF, one page per string (Helvetica, one text line per line); "" is a blank page."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"", b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    kids = []
    for text in pages:
        lines = [line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") for line in text.split("\n")]
        shows = "".join(f"({line}) Tj T* " for line in lines if line)
        stream = f"BT /F1 12 Tf 14 TL 72 720 Td {shows}ET".encode() if shows else b""
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        kids.append(len(objects) + 1)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
            b"/Contents %d 0 R >>" % len(objects)
        )
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def encrypt_pdf(data: bytes, user_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="AES-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def make_docx() -> bytes:
    document = docx.Document()
    document.add_paragraph("Preface text before any heading.")
    document.add_heading("Guide", level=1)
    document.add_heading("Install", level=2)
    document.add_paragraph("Run the installer.")
    table = document.add_table(rows=2, cols=2)
    for (row, column), text in {(0, 0): "os", (0, 1): "command", (1, 0): "linux", (1, 1): "make setup"}.items():
        table.cell(row, column).text = text
    document.add_heading("Use", level=2)
    document.add_paragraph("Start the server.")
    document.add_heading("FAQ", level=1)
    document.add_paragraph("常见问题的回答。")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def make_xlsx() -> bytes:
    workbook = Workbook()
    faq = workbook.active
    faq.title = "FAQ"
    faq.append(["question", "answer", "updated"])
    faq.append(["How to install?", "Run make setup", datetime.date(2024, 5, 1)])
    faq.append([None, None, None])
    faq.append(["价格是多少？", 3.0, None])
    people = workbook.create_sheet("People")
    people.append(["name", "age"])
    people.append(["Ada", 36])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# Files


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
async def test_txt_decodes_simplified_chinese(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(CHINESE.encode(encoding))
    [document] = await load_file(path)
    assert document.content == CHINESE
    assert document.metadata == {"source": str(path), "file_name": "notes.txt", "file_type": "txt"}


@pytest.mark.parametrize("encoding", ["utf-8", "big5", "gbk"])
async def test_txt_decodes_traditional_chinese(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(TRADITIONAL.encode(encoding))
    [document] = await load_file(path)
    assert document.content == TRADITIONAL


SHORT = [("中文", "gbk"), ("中文", "big5"), ("简体中文测试", "gbk"), ("中華民國", "big5"), ("資料庫", "big5")]
SHORT += [("資料庫", "gbk"), ("你好，世界。", "gbk"), ("你好，世界。", "big5"), ("Hello 世界", "gbk")]


@pytest.mark.parametrize(("text", "encoding"), SHORT)
def test_short_chinese_texts_decode_right(text: str, encoding: str) -> None:
    assert decode_text(text.encode(encoding)) == text


def test_binary_data_is_not_text() -> None:
    assert decode_text(b"\x00\x01\x02binary\x00\xff") is None


async def test_ids_are_stable_and_distinct(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("hello")
    first, second = await load_file(path), await load_file(path)
    assert first[0].id == second[0].id
    other = await load_bytes(b"hello", "b.txt")
    assert other[0].id != first[0].id


async def test_markdown_keeps_text_and_records_the_outline(tmp_path: Path) -> None:
    text = "# Guide\n\nIntro.\n\n```python\n# a comment, not a heading\nprint(1)\n```\n\n## Install\n\nSteps.\n"
    path = tmp_path / "guide.md"
    path.write_text(text)
    [document] = await load_file(path)
    assert document.content == text
    assert document.metadata["file_type"] == "markdown"
    assert document.metadata["title"] == "Guide"
    assert document.metadata["headings"] == [{"level": 1, "text": "Guide"}, {"level": 2, "text": "Install"}]


def test_markdown_sections_follow_heading_levels_and_skip_fences() -> None:
    text = "Preamble\n# A #\nA text\n~~~\n## not a heading\n~~~\n### C\nC text\n## B\nB text\n# D\n"
    sections = markdown_sections(text)
    assert [(s.heading_path, s.level) for s in sections] == [
        ((), 0),
        (("A",), 1),
        (("A", "C"), 3),
        (("A", "B"), 2),
        (("D",), 1),
    ]
    assert "## not a heading" in sections[1].body
    assert "".join(s.heading_line + s.body for s in sections) == text


async def test_html_drops_scripts_styles_and_navigation() -> None:
    html = """<!doctype html><html><head><title>Plait docs</title><style>p {color: red}</style></head>
    <body><nav><a href="/">Home</a> <a href="/x">Menu item</a></nav>
    <script>var secret = "do not index";</script>
    <h1>Getting   started</h1><p>Install   <b>Plait</b> first.</p>
    <ul><li>one</li><li>two</li></ul>
    <table><tr><th>k</th><th>v</th></tr><tr><td>a</td><td>1</td></tr></table>
    <h2>Next</h2><p>Line<br>break</p><!-- a comment --></body></html>"""
    [document] = await load_bytes(html.encode(), "page.html")
    content = document.content
    assert content == (
        "# Getting started\n\nInstall Plait first.\n\n- one\n- two\n\nk | v\na | 1\n\n## Next\n\nLine\nbreak"
    )
    assert document.metadata["title"] == "Plait docs"
    assert document.metadata["headings"] == [{"level": 1, "text": "Getting started"}, {"level": 2, "text": "Next"}]


async def test_html_meta_charset_is_honoured() -> None:
    html = f'<html><head><meta charset="gbk"></head><body><p>{CHINESE}</p></body></html>'
    [document] = await load_bytes(html.encode("gbk"), "page.htm")
    assert document.content == CHINESE
    assert "title" not in document.metadata


async def test_pdf_gives_one_document_per_page_with_text(tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(make_pdf(["First page\nwith (two) lines", "", "Third page"]))
    documents = await load_file(path)
    assert [d.metadata["page"] for d in documents] == [1, 3]  # the blank page has nothing to index
    assert documents[0].content == "First page\nwith (two) lines"
    assert documents[1].content == "Third page"
    assert all(d.metadata["page_count"] == 3 and d.metadata["file_type"] == "pdf" for d in documents)
    assert len({d.id for d in documents}) == 2


async def test_pdf_without_text_is_empty() -> None:
    with pytest.raises(EmptyDocument, match=r"scan\.pdf: no extractable text in 2 page\(s\).*OCR"):
        await load_bytes(make_pdf(["", ""]), "scan.pdf")


async def test_pdf_with_a_password_is_corrupt_but_owner_only_encryption_opens() -> None:
    with pytest.raises(CorruptDocument, match=r"locked\.pdf: .*encrypted"):
        await load_bytes(encrypt_pdf(make_pdf(["secret"]), "pw"), "locked.pdf")
    [document] = await load_bytes(encrypt_pdf(make_pdf(["open text"]), ""), "restricted.pdf")
    assert document.content == "open text"


@pytest.mark.parametrize("data", [b"%PDF-1.4\n garbage", make_pdf(["cut short"])[:200]], ids=["garbage", "truncated"])
async def test_broken_pdf_is_corrupt(data: bytes) -> None:
    with pytest.raises(CorruptDocument, match=r"broken\.pdf: cannot read this pdf file: .+"):
        await load_bytes(data, "broken.pdf")


async def test_docx_gives_one_document_per_heading_section() -> None:
    documents = await load_bytes(make_docx(), "guide.docx")
    assert [(d.metadata["heading_path"], d.content) for d in documents] == [
        ([], "Preface text before any heading."),
        (["Guide", "Install"], "Install\n\nRun the installer.\n\nos | command\nlinux | make setup"),
        (["Guide", "Use"], "Use\n\nStart the server."),
        (["FAQ"], "FAQ\n\n常见问题的回答。"),
    ]  # "Guide" has no text of its own: it lives on in its subsections' paths
    assert all(d.metadata["file_type"] == "docx" for d in documents)


def replace_member(archive: bytes, name: str, content: bytes) -> bytes:
    source, buffer = zipfile.ZipFile(io.BytesIO(archive)), io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            target.writestr(info.filename, content if info.filename == name else source.read(info))
    return buffer.getvalue()


def zip_of(**members: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        b"PK\x03\x04 not really a zip",
        b"plain text pretending",
        zip_of(hello="hi"),
        replace_member(make_docx(), "word/document.xml", b"<w:document><broken"),
    ],
    ids=["bad-zip", "text", "zip-without-document", "broken-xml"],
)
async def test_fake_docx_is_corrupt(data: bytes) -> None:
    with pytest.raises(CorruptDocument, match=r"fake\.docx: cannot read this docx file"):
        await load_bytes(data, "fake.docx")


@pytest.mark.parametrize(
    "data", [make_docx(), replace_member(make_xlsx(), "xl/worksheets/sheet1.xml", b"<worksheet><oops")]
)
async def test_broken_xlsx_is_corrupt(data: bytes) -> None:
    with pytest.raises(CorruptDocument, match=r"book\.xlsx: cannot read this xlsx file"):
        await load_bytes(data, "book.xlsx")


async def test_office_files_that_unpack_past_the_limit_are_refused() -> None:
    with pytest.raises(DocumentTooLarge, match=r"bomb\.docx: unpacks to [\d,]+ bytes, over the limit of 1,000 bytes"):
        await load_bytes(make_docx(), "bomb.docx", options=ParseOptions(max_unpacked_bytes=1000))


async def test_csv_gives_one_document_per_row(tmp_path: Path) -> None:
    path = tmp_path / "faq.csv"
    path.write_text('question,answer\n"How, exactly?","Like\nthis"\n\n,only answer\nextra,cells,here\n')
    documents = await load_file(path)
    assert [d.content for d in documents] == [
        "question: How, exactly?\nanswer: Like\nthis",
        "answer: only answer",
        "question: extra\nanswer: cells\ncolumn 3: here",
    ]
    assert [d.metadata["row"] for d in documents] == [2, 4, 5]
    assert "sheet" not in documents[0].metadata


async def test_csv_sniffs_the_delimiter_and_decodes_gbk() -> None:
    data = "名称;价格\n苹果;5\n".encode("gbk")
    [document] = await load_bytes(data, "prices.csv")
    assert document.content == "名称: 苹果\n价格: 5"
    [row] = await load_bytes(b"a\tb\n1\t2\n", "data.tsv")
    assert row.content == "a: 1\nb: 2"


async def test_csv_with_only_a_header_is_empty() -> None:
    with pytest.raises(EmptyDocument, match=r"header\.csv: no text found"):
        await load_bytes(b"question,answer\n", "header.csv")


async def test_xlsx_gives_one_document_per_row_per_sheet() -> None:
    documents = await load_bytes(make_xlsx(), "book.xlsx")
    assert [(d.metadata["sheet"], d.metadata["row"], d.content) for d in documents] == [
        ("FAQ", 2, "question: How to install?\nanswer: Run make setup\nupdated: 2024-05-01"),
        ("FAQ", 4, "question: 价格是多少？\nanswer: 3"),
        ("People", 2, "name: Ada\nage: 36"),
    ]


async def test_json_array_gives_one_document_per_element() -> None:
    data = json.dumps([{"q": "什么是 Plait?", "a": "A framework"}, "plain string", {}, ""], ensure_ascii=False)
    documents = await load_bytes(data.encode(), "items.json")
    assert [d.metadata["index"] for d in documents] == [0, 1, 2]
    assert documents[0].content == '{\n  "q": "什么是 Plait?",\n  "a": "A framework"\n}'
    assert documents[1].content == "plain string"


async def test_json_text_field_is_configurable() -> None:
    data = json.dumps({"title": "T", "body": "The text", "tags": ["x"]}).encode()
    [document] = await load_bytes(data, "post.json", options=ParseOptions(json_field="body"))
    assert document.content == "The text"
    assert document.metadata["fields"] == {"title": "T", "tags": ["x"]}
    assert "index" not in document.metadata


async def test_json_lines_and_broken_json() -> None:
    documents = await load_bytes(
        b'{"text": "a"}\n\n{"text": "b"}\n', "log.jsonl", options=ParseOptions(json_field="text")
    )
    assert [(d.content, d.metadata["line"]) for d in documents] == [("a", 1), ("b", 3)]
    with pytest.raises(CorruptDocument, match=r"bad\.json: .*Expecting"):
        await load_bytes(b'{"a": ', "bad.json")
    with pytest.raises(CorruptDocument, match=r"bad\.jsonl: .*line 2: "):
        await load_bytes(b'{"a": 1}\n{oops}\n', "bad.jsonl")


# The dispatcher


async def test_unsupported_extension_names_it_and_the_supported_ones(tmp_path: Path) -> None:
    path = tmp_path / "setup.EXE"
    path.write_bytes(b"MZ")
    with pytest.raises(UnsupportedFileType, match=r"setup.EXE: file type '\.exe' is not supported; supported: .*\.pdf"):
        await load_file(path)
    assert {".pdf", ".docx", ".xlsx", ".csv", ".json", ".md", ".html", ".txt"} <= set(SUPPORTED_EXTENSIONS)


async def test_too_large_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_bytes(b"x" * 2049)
    with pytest.raises(DocumentTooLarge, match=r"big.txt: 2,049 bytes is over the limit of 2,048 bytes"):
        await load_file(path, max_bytes=2048)
    with pytest.raises(DocumentTooLarge, match=r"upload\.txt"):
        await load_bytes(b"x" * 11, "upload.txt", max_bytes=10)
    assert await load_file(path, max_bytes=4096)


@pytest.mark.parametrize(("data", "reason"), [(b"", "empty \\(0 bytes\\)"), (b" \n\t\n", "no text found")])
async def test_empty_files(tmp_path: Path, data: bytes, reason: str) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(data)
    with pytest.raises(EmptyDocument, match=f"empty.txt: .*{reason}"):
        await load_file(path)


async def test_a_missing_file_is_a_knowledge_error(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match=r"nothing\.txt: cannot read the file"):
        await load_file(tmp_path / "nothing.txt")


@pytest.mark.parametrize(
    ("data", "file_type"),
    [
        (make_pdf(["sniffed"]), "pdf"),
        (make_docx(), "docx"),
        (make_xlsx(), "xlsx"),
        (b"<!DOCTYPE html><html><body><p>hi</p></body></html>", "html"),
        (b'[{"a": 1}]', "json"),
        ("纯文本文件".encode("gbk"), "txt"),
    ],
)
async def test_files_without_an_extension_are_sniffed(tmp_path: Path, data: bytes, file_type: str) -> None:
    path = tmp_path / "README"
    path.write_bytes(data)
    documents = await load_file(path)
    assert {d.metadata["file_type"] for d in documents} == {file_type}


async def test_unrecognised_content_without_an_extension_is_unsupported() -> None:
    with pytest.raises(UnsupportedFileType, match=r"blob: a file without an extension"):
        await load_bytes(b"\x00\x01\x02\x03\xff" * 10, "blob")


async def test_parsing_runs_in_a_worker_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[int] = []
    parse_txt = files_module.PARSERS["txt"]

    def spy(*args: Any) -> Any:
        threads.append(threading.get_ident())
        return parse_txt(*args)

    monkeypatch.setitem(files_module.PARSERS, "txt", spy)
    await load_bytes(b"hello", "a.txt")
    assert threads and threads[0] != threading.get_ident()


async def test_loaders_follow_the_loader_protocol(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text("# Hi\n")
    loader = FileLoader(max_bytes=100)
    assert isinstance(loader, Loader)
    assert isinstance(UrlLoader(), Loader)
    assert (await loader.load(path))[0].metadata["title"] == "Hi"


# URLs


@dataclass
class Site:
    base_url: str = ""
    port: int = 0
    streamed: int = 0
    hosts: list[str] = field(default_factory=list)


async def _endless(site: Site) -> AsyncIterator[bytes]:
    chunk = b"x" * 65536
    while True:
        site.streamed += len(chunk)
        yield chunk
        await asyncio.sleep(0)


def _app(site: Site) -> Starlette:
    html = "<html><head><title>Remote</title><script>x()</script></head><body><h1>Hello</h1><p>Body</p></body></html>"

    async def page(request: Request) -> Response:
        site.hosts.append(request.headers["host"])
        return HTMLResponse(html)

    async def slow(request: Request) -> Response:
        await asyncio.sleep(2)
        return PlainTextResponse("late")

    async def redirect(request: Request) -> Response:
        return RedirectResponse(request.query_params["to"], status_code=302)

    routes = [
        Route("/page.html", page),
        Route("/doc.pdf", lambda r: Response(make_pdf(["Remote PDF page"]), media_type="application/pdf")),
        Route("/gbk", lambda r: Response(CHINESE.encode("gbk"), headers={"content-type": "text/plain; charset=GBK"})),
        Route("/raw/notes.md", lambda r: PlainTextResponse("# Notes\n\ntext")),
        Route("/image.png", lambda r: Response(b"\x89PNG", media_type="image/png")),
        Route("/view.php", lambda r: PlainTextResponse("plain words")),
        Route("/download", lambda r: Response(make_pdf(["Sniffed PDF"]), media_type="application/octet-stream")),
        Route("/bad-location", lambda r: Response(status_code=302, headers={"location": "http://[::1"})),
        Route("/endless", lambda r: StreamingResponse(_endless(site), media_type="text/plain")),
        Route("/declared", lambda r: Response(b"x" * 5000, media_type="text/plain")),
        Route("/slow", slow),
        Route("/redirect", redirect),
        Route("/loop", lambda r: RedirectResponse("/loop", status_code=307)),
        Route("/missing", lambda r: PlainTextResponse("no", status_code=404)),
    ]
    return Starlette(routes=routes)


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    site = Site()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    site.port = sock.getsockname()[1]
    site.base_url = f"http://127.0.0.1:{site.port}"
    config = uvicorn.Config(
        _app(site), log_level="error", lifespan="off", ws="none", http="h11", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the test site did not start"
        time.sleep(0.01)
    try:
        yield site
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


LOCAL = UrlLoader(allow_private=True, timeout=10)


async def test_url_html_page(site: Site) -> None:
    source = f"{site.base_url}/page.html"
    [document] = await LOCAL.load(source)
    assert document.content == "# Hello\n\nBody"
    assert document.metadata | {"headings": None} == {
        "source": source,
        "url": source,
        "file_name": "page.html",
        "file_type": "html",
        "content_type": "text/html",
        "title": "Remote",
        "headings": None,
    }


async def test_url_pdf_and_declared_charset(site: Site) -> None:
    [pdf] = await LOCAL.load(f"{site.base_url}/doc.pdf")
    assert (pdf.content, pdf.metadata["page"], pdf.metadata["file_type"]) == ("Remote PDF page", 1, "pdf")
    [text] = await LOCAL.load(f"{site.base_url}/gbk")
    assert text.content == CHINESE


async def test_url_vague_content_type_uses_the_extension(site: Site) -> None:
    [document] = await LOCAL.load(f"{site.base_url}/raw/notes.md")
    assert document.metadata["file_type"] == "markdown"
    assert document.metadata["title"] == "Notes"


@pytest.mark.parametrize(("path", "file_type"), [("view.php", "txt"), ("download", "pdf")])
async def test_url_vague_content_type_and_unknown_extension_sniff_the_content(
    site: Site, path: str, file_type: str
) -> None:
    documents = await LOCAL.load(f"{site.base_url}/{path}")
    assert documents[0].metadata["file_type"] == file_type


async def test_url_unsupported_content_type(site: Site) -> None:
    with pytest.raises(UnsupportedFileType, match=r"image\.png: content type 'image/png' is not supported"):
        await LOCAL.load(f"{site.base_url}/image.png")


async def test_url_connects_to_the_checked_address_keeping_the_host_name(site: Site) -> None:
    site.hosts.clear()
    [document] = await LOCAL.load(f"http://localhost:{site.port}/page.html")
    assert site.hosts == [f"localhost:{site.port}"]
    assert document.metadata["url"] == f"http://localhost:{site.port}/page.html"


async def test_url_body_is_cut_off_while_streaming(site: Site) -> None:
    loader = UrlLoader(allow_private=True, max_bytes=256 * 1024, timeout=10)
    site.streamed = 0
    with pytest.raises(DocumentTooLarge, match=r"endless: the content is over the limit of 262,144 bytes"):
        await loader.load(f"{site.base_url}/endless")
    await asyncio.sleep(0.3)
    sent = site.streamed
    await asyncio.sleep(0.3)
    assert site.streamed == sent, "the server is still streaming: the client did not hang up"


async def test_url_declared_length_over_the_limit_is_refused(site: Site) -> None:
    with pytest.raises(DocumentTooLarge, match=r"declared: 5,000 bytes is over the limit of 4,096 bytes"):
        await UrlLoader(allow_private=True, max_bytes=4096).load(f"{site.base_url}/declared")


async def test_url_timeout(site: Site) -> None:
    started = time.monotonic()
    with pytest.raises(KnowledgeError, match=r"slow: timed out after 0.3s"):
        await UrlLoader(allow_private=True, timeout=0.3).load(f"{site.base_url}/slow")
    assert time.monotonic() - started < 1.5


async def test_url_redirects_are_followed_and_capped(site: Site) -> None:
    source = f"{site.base_url}/redirect?to=/page.html"
    [document] = await LOCAL.load(source)
    assert document.metadata["source"] == source
    assert document.metadata["url"] == f"{site.base_url}/page.html"
    with pytest.raises(KnowledgeError, match=r"more than 5 redirects"):
        await LOCAL.load(f"{site.base_url}/loop")


async def test_url_http_errors(site: Site) -> None:
    with pytest.raises(KnowledgeError, match=r"missing: HTTP 404"):
        await LOCAL.load(f"{site.base_url}/missing")
    with pytest.raises(KnowledgeError, match=r"bad-location: RemoteProtocolError: Invalid URL in location header"):
        await LOCAL.load(f"{site.base_url}/bad-location")


@pytest.fixture
def no_traffic(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refusals must happen before any request is sent."""

    async def refuse(*args: Any, **kwargs: Any) -> httpx.Response:
        raise AssertionError("a request was sent")

    monkeypatch.setattr(httpx.AsyncClient, "send", refuse)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/",
        "http://localhost/admin",
        "http://10.0.0.5/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[fe80::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://224.0.0.1/",
        "http://0.0.0.0/",
    ],
)
@pytest.mark.usefixtures("no_traffic")
async def test_private_addresses_are_refused(url: str) -> None:
    with pytest.raises(SourceNotAllowed, match=r"private, loopback, link-local or multicast"):
        await UrlLoader().load(url)


@pytest.mark.parametrize("url", ["ftp://example.com/file.txt", "file:///etc/passwd"])
@pytest.mark.usefixtures("no_traffic")
async def test_only_http_and_https_are_allowed(url: str) -> None:
    with pytest.raises(SourceNotAllowed, match=r"only http and https"):
        await UrlLoader().load(url)


@pytest.mark.parametrize(
    "target", ["http://10.0.0.1/", "http://169.254.169.254/latest", "http://127.0.0.2/x", "ftp://127.0.0.1/"]
)
async def test_a_redirect_to_a_private_address_or_other_scheme_is_refused(site: Site, target: str) -> None:
    loader = UrlLoader(allowed_networks=["127.0.0.1/32"])  # the test site only: 127.0.0.2 is not in it
    assert (await loader.load(f"{site.base_url}/page.html"))[0].content
    with pytest.raises(SourceNotAllowed, match=f"redirected to {target}\\): .*(private|only http)"):
        await loader.load(f"{site.base_url}/redirect?to={target}")
