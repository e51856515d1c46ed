"""Wire schemas of the Coze dataset and document endpoints, as cozepy 0.20 sends and validates them."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from plait.platform.datasets import MAX_IDS, ChunkStrategy, DatasetRecord, DocumentRecord, NewDocument


class CreateDatasetRequest(BaseModel):
    name: str
    space_id: str
    format_type: int = 0
    description: str | None = None
    file_id: str | None = None  # the icon, uploaded through /v1/files/upload


class UpdateDatasetRequest(BaseModel):
    name: str
    description: str | None = None
    file_id: str | None = None


DocumentIds = Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=MAX_IDS)]


class ProcessRequest(BaseModel):
    document_ids: DocumentIds


class ChunkStrategyModel(BaseModel):
    """cozepy dumps every field, unset ones as null; null means Coze's default."""

    chunk_type: int | None = None
    separator: str | None = None
    max_tokens: int | None = None
    remove_extra_spaces: bool | None = None
    remove_urls_emails: bool | None = None

    def strategy(self) -> ChunkStrategy:
        return ChunkStrategy(
            chunk_type=self.chunk_type or 0,
            separator=self.separator,
            max_tokens=self.max_tokens,
            remove_extra_spaces=bool(self.remove_extra_spaces),
            remove_urls_emails=bool(self.remove_urls_emails),
        )


class SourceInfo(BaseModel):
    file_base64: str | None = None
    file_type: str | None = None
    web_url: str | None = None
    source_file_id: str | None = None
    document_source: int | None = None


class UpdateRule(BaseModel):
    update_type: int = 0
    update_interval: int | None = None


class DocumentBase(BaseModel):
    name: str
    source_info: SourceInfo
    update_rule: UpdateRule | None = None

    def new(self) -> NewDocument:
        source = self.source_info
        return NewDocument(
            name=self.name,
            file_base64=source.file_base64,
            file_type=source.file_type,
            web_url=source.web_url,
            source_file_id=source.source_file_id,
            update_rule=self.update_rule.model_dump(exclude_none=True) if self.update_rule else {},
        )


class CreateDocumentsRequest(BaseModel):
    dataset_id: str
    document_bases: list[DocumentBase]
    chunk_strategy: ChunkStrategyModel | None = None
    format_type: int | None = None


class UpdateDocumentRequest(BaseModel):
    document_id: str
    document_name: str | None = None
    update_rule: UpdateRule | None = None


class DeleteDocumentsRequest(BaseModel):
    document_ids: DocumentIds


class ListDocumentsRequest(BaseModel):
    dataset_id: str
    page: int = Field(default=1, ge=1)
    size: int = Field(default=10, ge=1, le=100)


def render_dataset(dataset: DatasetRecord, *, can_edit: bool) -> dict[str, Any]:
    return {
        "dataset_id": dataset.id,
        "name": dataset.name,
        "description": dataset.description,
        "space_id": dataset.workspace_id,
        "status": dataset.status,
        "format_type": dataset.format_type,
        "can_edit": can_edit,
        "icon_url": "",
        "doc_count": dataset.documents,
        "slice_count": dataset.slices,
        "all_file_size": dataset.bytes,
        "hit_count": dataset.hits,
        "chunk_strategy": dataset.chunk_strategy,
        "create_time": dataset.created_at,
        "update_time": dataset.updated_at,
    }


def render_document(document: DocumentRecord) -> dict[str, Any]:
    """The Coze Document object; ``type`` is the file extension, or "web" for a web page."""
    return {
        "document_id": document.id,
        "name": document.name,
        "char_count": document.char_count,
        "format_type": document.format_type,
        "hit_count": document.hit_count,
        "size": document.size,
        "slice_count": document.slice_count,
        "source_type": document.source_type,
        "status": document.status,
        "type": document.type,
        "update_interval": document.update_interval,
        "update_type": document.update_type,
        "create_time": document.created_at,
        "update_time": document.updated_at,
    }


def render_progress(document: DocumentRecord) -> dict[str, Any]:
    return {
        "document_id": document.id,
        "document_name": document.name,
        "url": document.url,
        "size": document.size,
        "type": document.type,
        "status": document.status,
        "progress": document.progress,
        "status_descript": document.error,
        "update_type": document.update_type,
        "update_interval": document.update_interval,
    }
