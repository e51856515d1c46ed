"""PDF, one document per page so answers can cite "page 3". Text only: scanned pages need OCR, which Plait
does not do, so a PDF without a text layer is reported as empty rather than indexed as nothing."""

from __future__ import annotations

from io import BytesIO

from plait.knowledge.errors import EmptyDocument
from plait.knowledge.loaders._common import Origin, ParseOptions
from plait.schema import Document


def parse_pdf(data: bytes, origin: Origin, options: ParseOptions) -> list[Document]:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):  # owner-password-only PDFs open with ""
            raise origin.corrupt("it is encrypted with a password")
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as error:
        # pypdf reports damage through many exception types, some raised lazily while reading pages.
        raise origin.corrupt(error) from error
    documents = [
        origin.document(text.strip(), number, page=number, page_count=len(pages))
        for number, text in enumerate(pages, start=1)
        if text.strip()
    ]
    if not documents:
        raise EmptyDocument(
            f"{origin.source}: no extractable text in {len(pages)} page(s); a scanned PDF needs OCR first"
        )
    return documents
