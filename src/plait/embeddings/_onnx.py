"""The ONNX Runtime backend and the one-time export that makes its files.

The export folder holds ``model.onnx`` (the transformer: token ids in, hidden states out), ``tokenizer.json``
(for the ``tokenizers`` library) and ``plait-export.json``, written last: a folder without it, or whose
``source`` no longer matches the model folder, is exported again. Running needs onnxruntime, tokenizers and
numpy only; torch is imported by ``export_onnx`` alone. Imported by ``LocalEmbedder`` when it loads.
"""

from __future__ import annotations

import contextlib
import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from plait.embeddings.local import INSTALL_HINT, MODEL_ID
from plait.models.errors import ModelConfigError

EXPORT_FORMAT = 1
MANIFEST = "plait-export.json"
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OPSET = 17


def source_of(model_path: Path) -> dict[str, Any]:
    """What the export was made from: the model folder's files by size and modification time, so a
    reinstalled or different model is exported again without hashing 90 MB of weights at every start."""
    files = sorted(path for path in model_path.iterdir() if path.is_file()) if model_path.is_dir() else []
    return {
        "format": EXPORT_FORMAT,
        "model_path": str(model_path.resolve()),
        "files": {path.name: [path.stat().st_size, path.stat().st_mtime_ns] for path in files},
    }


def export_is_current(folder: Path, model_path: Path) -> bool:
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    return bool(manifest.get("source") == source_of(model_path) and (folder / MODEL_FILE).is_file())


def export_onnx(model_path: Path, folder: Path, *, max_seq_length: int) -> None:
    """Export the model's transformer with dynamic batch and sequence axes, and its tokenizer. Pooling and
    normalising stay outside the graph (numpy), as sentence-transformers does them outside the transformer."""
    try:
        import torch
        from torch.jit._trace import TracerWarning
    except ImportError as error:
        raise ModelConfigError(MODEL_ID, f"exporting the ONNX model needs torch, once: {INSTALL_HINT}") from error
    from plait.embeddings._torch import load_sentence_transformer

    # Eager attention traces to plain MatMul/Softmax; the SDPA path leaves shape checks in the trace.
    transformer = load_sentence_transformer(model_path, attn_implementation="eager")[0]
    tokenizer = transformer.tokenizer
    # Unequal lengths: the sample has padding, so the attention mask is part of the traced graph.
    sample = tokenizer(["a short one", "a somewhat longer sample sentence"], padding=True, return_tensors="pt")
    temporary = {name: folder / f".{name}.{os.getpid()}.tmp" for name in (MODEL_FILE, TOKENIZER_FILE, MANIFEST)}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings(), torch.no_grad():
            # The legacy TorchScript exporter is the one that needs no onnxscript; its notices are expected.
            warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.onnx")
            warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX", category=DeprecationWarning)
            warnings.filterwarnings("ignore", category=TracerWarning)
            warnings.filterwarnings("ignore", message="Exporting aten::index operator", category=UserWarning)
            torch.onnx.export(
                _hidden_states(torch, transformer.auto_model.eval()),
                tuple(sample[name] for name in INPUTS),
                str(temporary[MODEL_FILE]),
                input_names=list(INPUTS),
                output_names=["last_hidden_state"],
                dynamic_axes={name: {0: "batch", 1: "sequence"} for name in (*INPUTS, "last_hidden_state")},
                opset_version=OPSET,
                dynamo=False,
            )
        tokenizer.backend_tokenizer.save(str(temporary[TOKENIZER_FILE]))
        manifest = {
            "source": source_of(model_path),
            "max_seq_length": max_seq_length,
            "pad_id": tokenizer.pad_token_id,
            "pad_token": tokenizer.pad_token,
            "torch": torch.__version__,
            "opset": OPSET,
        }
        temporary[MANIFEST].write_text(json.dumps(manifest, indent=2))
        for name in (MODEL_FILE, TOKENIZER_FILE, MANIFEST):  # the manifest last: it says the rest is complete
            os.replace(temporary[name], folder / name)
    except OSError as error:
        raise ModelConfigError(
            MODEL_ID, f"cannot write the ONNX export to {folder} ({error}): set PLAIT_DATA_DIR or use backend='torch'"
        ) from error
    finally:
        for path in temporary.values():
            with contextlib.suppress(OSError):  # cleaning up must not hide the error that stopped the export
                path.unlink()


def _hidden_states(torch: Any, model: Any) -> Any:
    """The transformer as a module of positional tensors returning only the last hidden states."""

    class HiddenStates(torch.nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            output = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return output.last_hidden_state

    return HiddenStates()


class OnnxEncoder:
    name = "onnx"

    def __init__(self, folder: Path) -> None:
        try:
            import onnxruntime  # type: ignore[import-untyped]
            from tokenizers import Tokenizer
        except ImportError as error:
            raise ModelConfigError(
                MODEL_ID, f"the onnx backend needs onnxruntime and tokenizers: {INSTALL_HINT}"
            ) from error
        manifest = json.loads((folder / MANIFEST).read_text())
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # errors only: its start-up notices are not ours to show
        # Idle threads sleep instead of spinning: the cores are shared with the event loop and the rest of the
        # server (on a busy 2-core machine a one-query call took 4-7 ms this way, 13 ms spinning).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # A batch of 32 texts of 256 tokens needs ~450 MB of activations; the arena would hold on to that
        # peak for the life of the process. Without it the memory goes back after each batch, at no measured cost.
        options.enable_cpu_mem_arena = False
        self._session = onnxruntime.InferenceSession(
            str(folder / MODEL_FILE), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = [item.name for item in self._session.get_inputs()]
        self._tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        # The saved tokenizer may carry a fixed padding or another length: pad to the batch's longest text and
        # truncate at the model's limit, as sentence-transformers asks its tokenizer to.
        self._tokenizer.enable_truncation(max_length=manifest["max_seq_length"])
        self._tokenizer.enable_padding(pad_id=manifest["pad_id"], pad_token=manifest["pad_token"])

    def encode(self, texts: list[str]) -> NDArray[np.float32]:
        encodings = self._tokenizer.encode_batch(texts)
        features = {
            "input_ids": np.array([item.ids for item in encodings], dtype=np.int64),
            "attention_mask": np.array([item.attention_mask for item in encodings], dtype=np.int64),
            "token_type_ids": np.array([item.type_ids for item in encodings], dtype=np.int64),
        }
        (hidden,) = self._session.run(["last_hidden_state"], {name: features[name] for name in self._inputs})
        # Mean over real tokens, then L2 normalise: sentence-transformers' Pooling and Normalize modules.
        mask = features["attention_mask"][:, :, None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        vectors: NDArray[np.float32] = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return vectors
