"""Errors of the knowledge engine. Each says which document or knowledge base and what is wrong with it.

PlaitError
└── KnowledgeError
    ├── UnsupportedFileType     no loader for that extension or content type
    ├── DocumentTooLarge        over the configured size limit
    ├── EmptyDocument           nothing to index after loading
    ├── CorruptDocument         the file could not be parsed (a broken PDF, a fake .docx)
    ├── SourceNotAllowed        a URL loader refused the address (private network, scheme, redirect)
    ├── UnknownKnowledgeBase    no knowledge base by that name or id
    └── IndexStoreError         an index could not be read or written (stores, persistence)
"""

from __future__ import annotations

from plait.schema import PlaitError


class KnowledgeError(PlaitError):
    pass


class UnsupportedFileType(KnowledgeError):
    pass


class DocumentTooLarge(KnowledgeError):
    pass


class EmptyDocument(KnowledgeError):
    pass


class CorruptDocument(KnowledgeError):
    pass


class SourceNotAllowed(KnowledgeError):
    pass


class UnknownKnowledgeBase(KnowledgeError):
    pass


class IndexStoreError(KnowledgeError):
    pass
