"""The torch backend: sentence-transformers running the model as published. Imported only when used: torch
and transformers take several seconds to import."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from plait.embeddings.local import INSTALL_HINT, MODEL_ID
from plait.models.errors import ModelConfigError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray


def load_sentence_transformer(model_path: Path, **model_kwargs: Any) -> Any:
    """The model from its local folder only (never a hub), on the CPU, without a progress bar on stderr."""
    try:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging
    except ImportError as error:
        raise ModelConfigError(MODEL_ID, f"the torch backend needs sentence-transformers: {INSTALL_HINT}") from error
    if not model_path.is_dir():
        raise ModelConfigError(MODEL_ID, f"no model folder at {model_path}")
    bars = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        return SentenceTransformer(
            str(model_path), device="cpu", local_files_only=True, model_kwargs=model_kwargs or None
        )
    finally:
        if bars:
            transformers_logging.enable_progress_bar()  # type: ignore[no-untyped-call]


class TorchEncoder:
    name = "torch"

    def __init__(self, model_path: Path, *, max_seq_length: int) -> None:
        self._model = load_sentence_transformer(model_path)
        self._model.max_seq_length = max_seq_length

    def encode(self, texts: list[str]) -> NDArray[np.float32]:
        # One call per batch: the caller has already sorted and cut the batches, the same ones ONNX gets.
        vectors: NDArray[np.float32] = self._model.encode(
            texts,
            batch_size=len(texts),
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return vectors
