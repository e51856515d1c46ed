"""How a knowledge base chunks and retrieves, stored as JSON beside its indexes."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from plait.knowledge.errors import KnowledgeError

Strategy = Literal["auto", "recursive", "markdown", "sentence", "parent_child", "none"]
Mode = Literal["keyword", "vector", "hybrid"]
Fusion = Literal["rrf", "weighted"]
# Hybrid defaults, chosen on SciFact train (see docs/knowledge.md): min-max-normalised scores weighted towards
# keywords, because the default embedder (all-MiniLM-L6-v2) is English-only and weak on Chinese.
DEFAULT_FUSION: Fusion = "weighted"
DEFAULT_WEIGHTS = (0.7, 0.3)


@dataclass(frozen=True, slots=True, kw_only=True)
class ChunkingConfig:
    """``auto`` cuts markdown and HTML by headings and everything else recursively (paragraphs, sentences...).

    256 tokens by default: the local embedder reads at most 256 tokens, so longer chunks would be indexed
    for keywords on text their vector never saw."""

    strategy: Strategy = "auto"
    chunk_size: int = 256
    chunk_overlap: int = 32
    remove_extra_spaces: bool = True
    remove_urls_emails: bool = False

    def __post_init__(self) -> None:
        if self.chunk_size < 16:
            raise KnowledgeError(f"chunk_size must be at least 16 tokens, got {self.chunk_size}")
        if not 0 <= self.chunk_overlap < self.chunk_size:
            raise KnowledgeError("chunk_overlap must be at least 0 and smaller than chunk_size")


@dataclass(frozen=True, slots=True, kw_only=True)
class RetrievalConfig:
    mode: Mode = "hybrid"
    fusion: Fusion = DEFAULT_FUSION
    rrf_k: int = 60
    weights: tuple[float, float] = DEFAULT_WEIGHTS  # keyword, vector (weighted fusion)
    top_k: int = 5
    score_threshold: float | None = None
    candidates: int = 100

    def __post_init__(self) -> None:
        if self.top_k < 1 or self.candidates < 1:
            raise KnowledgeError("top_k and candidates must be at least 1")
        if len(self.weights) != 2 or min(self.weights) < 0 or sum(self.weights) <= 0:
            raise KnowledgeError("weights are two non-negative numbers (keyword, vector), not both zero")


@dataclass(frozen=True, slots=True, kw_only=True)
class KnowledgeBaseConfig:
    name: str
    description: str = ""
    embedder: str = "local/all-minilm-l6-v2"
    chunking: ChunkingConfig = field(default_factory=ChunkingConfig)
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)

    def __post_init__(self) -> None:
        if not self.name or len(self.name) > 100 or "/" in self.name or self.name.startswith("."):
            raise KnowledgeError(f"invalid knowledge base name {self.name!r}: 1-100 characters, no '/', no leading '.'")

    def save(self, path: Path) -> None:
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(self), ensure_ascii=False, indent=2))
        temporary.replace(path)

    @classmethod
    def load(cls, path: Path) -> KnowledgeBaseConfig:
        try:
            data: dict[str, Any] = json.loads(path.read_text())
            return cls(
                name=data["name"],
                description=data.get("description", ""),
                embedder=data.get("embedder", "local/all-minilm-l6-v2"),
                chunking=ChunkingConfig(**data.get("chunking", {})),
                retrieval=RetrievalConfig(
                    **{
                        **data.get("retrieval", {}),
                        "weights": tuple(data.get("retrieval", {}).get("weights", DEFAULT_WEIGHTS)),
                    }
                ),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise KnowledgeError(f"cannot read knowledge base config {path}: {exc}") from exc
