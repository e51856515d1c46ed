"""Uploaded files, and knowledge datasets with their documents and the documents' chunks."""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from plait.store.base import Base, Id, Json, Name, Timestamp, UpdatedAt, parent_fk, workspace_fk


class File(Base):
    """Metadata of an upload; the bytes live under the data dir at ``path``, named by content hash."""

    __tablename__ = "files"

    id: Mapped[Id]
    workspace_id: Mapped[str] = workspace_fk()
    user_id: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[Name]
    bytes: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(128), default="application/octet-stream")
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(Text)
    created_at: Mapped[Timestamp]

    __table_args__ = (Index(None, "workspace_id", "sha256"),)


class Dataset(Base):
    __tablename__ = "datasets"

    id: Mapped[Id]
    workspace_id: Mapped[str] = workspace_fk()
    name: Mapped[Name]
    description: Mapped[str] = mapped_column(Text, default="")
    format_type: Mapped[int] = mapped_column(Integer, default=0)  # 0 text, 1 table, 2 image
    status: Mapped[int] = mapped_column(Integer, default=1)  # 1 enabled, 3 disabled
    icon_file_id: Mapped[str | None] = mapped_column(String(32))
    config: Mapped[Json]
    # Bumped in the transaction that makes a document searchable or deletes one: each worker compares it with the
    # version its in-memory index was loaded at, and catches up when it moved.
    index_version: Mapped[int] = mapped_column(BigInteger, default=0)
    chunk_count: Mapped[int] = mapped_column(BigInteger, default=0)  # chunks of its done documents (the cap)
    created_at: Mapped[Timestamp]
    updated_at: Mapped[UpdatedAt]


class DatasetDocument(Base):
    __tablename__ = "dataset_documents"

    id: Mapped[Id]
    workspace_id: Mapped[str] = workspace_fk()
    dataset_id: Mapped[str] = parent_fk("datasets.id")
    name: Mapped[Name]
    status: Mapped[int] = mapped_column(Integer, default=0)  # 0 processing, 1 done, 9 failed
    progress: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    format_type: Mapped[int] = mapped_column(Integer, default=0)
    char_count: Mapped[int] = mapped_column(BigInteger, default=0)
    slice_count: Mapped[int] = mapped_column(Integer, default=0)
    hit_count: Mapped[int] = mapped_column(Integer, default=0)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    source: Mapped[Json]
    update_rule: Mapped[Json]
    # While processing: the process ingesting it and until when its lease runs (unix seconds). The process renews
    # the lease while it works; a document whose lease ran out is failed by any worker, never one still leased.
    lease_owner: Mapped[str | None] = mapped_column(String(32))
    lease_until: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[Timestamp]
    updated_at: Mapped[UpdatedAt]

    __table_args__ = (Index(None, "dataset_id", "created_at"), Index(None, "status", "lease_until"))


class DatasetChunk(Base):
    """One chunk of a document, as every worker loads it into its indexes: text, metadata, the analyzed BM25
    terms (so no worker runs the analyzer again) and the vector, unless it lives in pgvector."""

    __tablename__ = "dataset_chunks"

    id: Mapped[str] = mapped_column(String(48), primary_key=True)  # <document id>#<position>
    dataset_id: Mapped[str] = parent_fk("datasets.id")
    document_id: Mapped[str] = parent_fk("dataset_documents.id")
    position: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)
    meta: Mapped[Json]
    tokens: Mapped[str] = mapped_column(Text)  # the analyzer's terms, JSON
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)  # float32, little-endian; None with pgvector

    __table_args__ = (Index(None, "document_id", "position"), Index(None, "dataset_id"))
