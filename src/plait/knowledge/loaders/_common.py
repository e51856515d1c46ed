"""What every parser shares: where a document came from, stable ids, parse options and text decoding."""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from io import BytesIO
from typing import Any

from plait.knowledge.errors import CorruptDocument, DocumentTooLarge
from plait.schema import Document

DEFAULT_MAX_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class ParseOptions:
    """Choices a caller can make about how files are read.

    ``json_field`` takes a JSON object's text from that key (the other top-level keys go to metadata
    ``"fields"``); without it, or for an object that lacks the key, the whole object is pretty-printed.
    ``max_unpacked_bytes`` caps what a .docx or .xlsx (zip archives) may expand to, so a small upload
    cannot be a zip bomb.
    """

    json_field: str | None = None
    max_unpacked_bytes: int = 500 * 1024 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class Origin:
    """Where the bytes came from; every document a parser makes carries this in its metadata."""

    source: str
    file_name: str
    file_type: str
    charset: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def document(self, content: str, *locator: object, **metadata: Any) -> Document:
        """A document whose id is stable across re-ingestion: a hash of the source and its place in it."""
        key = "\x1f".join([self.source, *map(str, locator)])
        base = {"source": self.source, "file_name": self.file_name, "file_type": self.file_type, **self.extra}
        return Document(id=hashlib.sha256(key.encode()).hexdigest()[:24], content=content, metadata=base | metadata)

    def corrupt(self, reason: object) -> CorruptDocument:
        return CorruptDocument(f"{self.source}: cannot read this {self.file_type} file: {reason}")


def size_label(limit: int) -> str:
    return f"{limit:,} bytes" + (f" ({limit / 1024 / 1024:.1f} MiB)" if limit >= 1024 * 1024 else "")


def too_large(source: str, limit: int, size: int | None = None) -> DocumentTooLarge:
    got = f"{size:,} bytes" if size is not None else "the content"
    return DocumentTooLarge(f"{source}: {got} is over the limit of {size_label(limit)}")


def check_archive(data: bytes, origin: Origin, options: ParseOptions) -> None:
    """Refuse an Office file (a zip) that is broken or unpacks past the limit, before a parser opens it."""
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as error:
        raise origin.corrupt(f"not a valid Office Open XML archive ({error})") from error
    limit = options.max_unpacked_bytes
    if unpacked > limit:
        raise DocumentTooLarge(f"{origin.source}: unpacks to {unpacked:,} bytes, over the limit of {size_label(limit)}")


# Text decoding. UTF-8 first (strict, so a lucky GBK sequence does not pass as Latin-1), then the
# candidates charset-normalizer offers plus GB18030 and Big5. Short Chinese texts fool statistical detectors
# (four GBK bytes are also valid Big5), so candidates are ranked by how much of the decoded text is
# *common* Chinese characters, Chinese punctuation or Latin letters: a wrong CJK decoding produces rare
# ideographs, kana or symbols.

_KOREAN = {"euc_kr", "cp949", "johab", "iso2022_kr"}
_JAPANESE = {"shift_jis", "cp932", "euc_jp", "iso2022_jp", "shift_jis_2004", "euc_jis_2004"}


@cache
def _common_hanzi() -> frozenset[str]:
    """GB2312 level 1 (the 3,755 most used simplified characters) and Big5's 5,401 frequent characters."""
    chars: set[str] = set()
    ranges = [("gb2312", range(0xB0, 0xD8), range(0xA1, 0xFF)), ("big5", range(0xA4, 0xC7), range(0x40, 0xFF))]
    for codec, leads, trails in ranges:
        for lead in leads:
            for trail in trails:
                try:
                    chars.add(bytes([lead, trail]).decode(codec))
                except UnicodeDecodeError:
                    continue
    return frozenset(char for char in chars if "\u4e00" <= char <= "\u9fff")  # Big5 row C6 ends in kana


def _plausibility(text: str, encoding: str) -> float:
    """Share of the non-ASCII characters that real text in this encoding would contain."""
    common = _common_hanzi()
    total = good = 0
    for char in text:
        code = ord(char)
        if code < 0x80:
            continue
        total += 1
        if (
            char in common
            or 0x3000 <= code <= 0x303F  # CJK punctuation
            or 0xFF00 <= code <= 0xFFEF  # fullwidth forms
            or 0x2000 <= code <= 0x206F  # general punctuation: quotes, dashes, ellipsis
            or 0xC0 <= code <= 0x17F  # Latin letters with accents
            or (encoding in _KOREAN and 0xAC00 <= code <= 0xD7A3)
            or (encoding in _JAPANESE and 0x3040 <= code <= 0x30FF)
        ):
            good += 1
    return good / total if total else 1.0


def decode_text(data: bytes, declared: str | None = None) -> str | None:
    """The text in ``data``, or None when it is not text in any encoding we can recognise.

    A declared charset (an HTTP header, an HTML meta tag) wins when the bytes decode under it.
    """
    import charset_normalizer

    for bom, codec in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            return data.decode(codec, errors="replace")
    for codec in filter(None, (declared, "utf-8")):
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    if b"\x00" in data[:8192]:  # NUL bytes: binary, or UTF-16 without a BOM, which we do not guess
        return None
    best = charset_normalizer.from_bytes(data).best()
    detected = [(str(best), best.encoding)] if best is not None else []
    chinese = []
    for codec in ("gb18030", "big5"):
        try:
            chinese.append((data.decode(codec), codec))
        except UnicodeDecodeError:
            continue
    # Ties go to the Chinese codecs: "中文" in Big5 is also valid EUC-JP kana. A legacy-encoded Korean file
    # whose hangul all decode to common hanzi is the price; Korean and Japanese win when they fit better.
    candidates = chinese + detected
    if not candidates:
        return None
    return max(candidates, key=lambda pair: _plausibility(*pair))[0]
