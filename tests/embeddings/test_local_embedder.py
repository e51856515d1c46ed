"""The local all-MiniLM-L6-v2 embedder, with the real model on both backends (no mocks): vectors, batching,
truncation, the ONNX export and the promise that the ONNX path never imports torch."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from plait.components import Embedder
from plait.embeddings import LocalEmbedder
from plait.embeddings._onnx import export_is_current
from plait.embeddings.local import default_model_path
from plait.models.errors import ModelConfigError

SENTENCES = [
    "A cat sits on the mat.",
    "A kitten is lying on the rug.",
    "The stock market crashed on Monday.",
    "Vitamin D deficiency is associated with an increased risk of fractures.",
    "Photosynthesis converts light energy into chemical energy.",
    "The quick brown fox jumps over the lazy dog.",
    "How do I reset my password?",
    "Transformers use self-attention to model long-range dependencies in text, which made them dominant in NLP.",
    "It rained.",
    "",
    "   leading and trailing spaces   ",
    "E=mc^2 and π ≈ 3.14159; naïve café résumé.",
    "今天天气很好。",
    "我喜欢在公园里散步，尤其是在秋天的傍晚。",
    "机器学习是人工智能的一个分支。",
    "股市今天大幅下跌。",
    "这只猫坐在垫子上。",
    "北京是中国的首都，也是一座历史悠久的城市。",
    "Mixed 中英文 text with numbers 12345.",
    "word " * 400,  # far beyond 256 tokens: truncated
]
BATCH = 4  # small batches: several per call, and the one long text pads only three others to 256 tokens


def cosine(a: list[float], b: list[float]) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def loaded(embedder: LocalEmbedder) -> LocalEmbedder:
    asyncio.run(embedder.load())
    return embedder


@pytest.fixture(scope="module")
def onnx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("all-minilm-l6-v2-onnx")


@pytest.fixture(scope="module")
def torch_embedder() -> LocalEmbedder:
    return loaded(LocalEmbedder(backend="torch", batch_size=BATCH))


@pytest.fixture(scope="module")
def onnx_embedder(onnx_dir: Path) -> LocalEmbedder:
    return loaded(LocalEmbedder(backend="onnx", onnx_dir=onnx_dir, batch_size=BATCH))  # exports into onnx_dir first


@pytest.fixture(scope="module", params=["torch", "onnx"])
def embedder(request: pytest.FixtureRequest) -> LocalEmbedder:
    chosen: LocalEmbedder = request.getfixturevalue(f"{request.param}_embedder")
    return chosen


async def test_unit_vectors_of_384_dimensions(embedder: LocalEmbedder) -> None:
    vectors = await embedder.embed(SENTENCES)
    assert isinstance(embedder, Embedder)
    assert embedder.dimension == 384
    assert len(vectors) == len(SENTENCES)
    assert all(len(vector) == 384 and isinstance(vector[0], float) for vector in vectors)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


async def test_similar_sentences_are_closer(embedder: LocalEmbedder) -> None:
    cat, kitten, market = await embedder.embed(
        ["a cat sits on the mat", "a kitten is on the rug", "stock market crash"]
    )
    assert cosine(cat, kitten) > cosine(cat, market) + 0.3


async def test_torch_and_onnx_give_the_same_vectors(
    torch_embedder: LocalEmbedder, onnx_embedder: LocalEmbedder
) -> None:
    assert (torch_embedder.backend, onnx_embedder.backend) == ("torch", "onnx")
    by_torch = np.array(await torch_embedder.embed(SENTENCES))
    by_onnx = np.array(await onnx_embedder.embed(SENTENCES))
    assert np.abs(by_torch - by_onnx).max() < 1e-5


async def test_texts_are_truncated_at_256_tokens(embedder: LocalEmbedder) -> None:
    long_text = "the cell " * 200  # 400 word pieces
    truncated, longer = await embedder.embed([long_text, long_text + "an entirely different ending " * 20])
    assert np.abs(np.array(truncated) - np.array(longer)).max() < 1e-6


async def test_batches_of_mixed_lengths_keep_the_input_order(onnx_dir: Path, onnx_embedder: LocalEmbedder) -> None:
    small_batches = LocalEmbedder(backend="onnx", onnx_dir=onnx_dir, batch_size=3)
    texts = [SENTENCES[i] for i in (8, 7, 0, 19, 9, 13, 2, 11, 5, 16)]
    one_by_one = [(await onnx_embedder.embed([text]))[0] for text in texts]
    batched = await small_batches.embed(texts)
    assert np.abs(np.array(batched) - np.array(one_by_one)).max() < 1e-5


async def test_concurrent_calls_do_not_block_the_loop(onnx_embedder: LocalEmbedder) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    ticking = asyncio.create_task(ticker())
    texts = SENTENCES[:-1] * 2  # short texts: the test is about scheduling, not long inputs
    results = await asyncio.gather(*(onnx_embedder.embed(texts[i:] + texts[:i]) for i in range(4)))
    ticking.cancel()
    alone = await onnx_embedder.embed(texts)
    for i, result in enumerate(results):
        assert np.abs(np.array(result) - np.array(alone[i:] + alone[:i])).max() < 1e-5
    assert ticks > 5


async def test_edge_inputs(onnx_embedder: LocalEmbedder) -> None:
    assert await onnx_embedder.embed([]) == []
    (empty,) = await onnx_embedder.embed([""])
    assert len(empty) == 384
    with pytest.raises(TypeError, match="item 1 is bytes"):
        await onnx_embedder.embed(["fine", b"bytes"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="not one string"):
        await onnx_embedder.embed("a string is not a list of texts")


def test_settings_are_checked() -> None:
    with pytest.raises(ModelConfigError, match="backend"):
        LocalEmbedder(backend="gpu")  # type: ignore[arg-type]
    with pytest.raises(ModelConfigError, match="batch_size"):
        LocalEmbedder(batch_size=0)


async def test_a_missing_model_folder_is_a_config_error(tmp_path: Path) -> None:
    embedder = LocalEmbedder(backend="torch", model_path=tmp_path / "nowhere")
    with pytest.raises(ModelConfigError, match="no model folder"):
        await embedder.load()


def test_the_export_is_redone_for_another_model(onnx_dir: Path, onnx_embedder: LocalEmbedder, tmp_path: Path) -> None:
    assert export_is_current(onnx_dir, default_model_path())
    assert not export_is_current(onnx_dir, tmp_path)
    assert not export_is_current(tmp_path, default_model_path())


RUN_ONNX = """
import asyncio, json, sys
from plait.embeddings import LocalEmbedder
embedded = sys.modules.copy()
embedder = LocalEmbedder(onnx_dir=sys.argv[1])
vectors = asyncio.run(embedder.embed(["a cat sits on the mat", "这只猫坐在垫子上。"]))
heavy = [name for name in ("torch", "sentence_transformers", "transformers") if name in sys.modules]
light = [name for name in ("torch", "onnxruntime", "sentence_transformers", "numpy") if name in embedded]
print(json.dumps({"backend": embedder.backend, "heavy": heavy, "at_import": light, "first": vectors[0][:4]}))
"""


def test_the_onnx_path_never_imports_torch(onnx_dir: Path, onnx_embedder: LocalEmbedder) -> None:
    done = subprocess.run(
        [sys.executable, "-c", RUN_ONNX, str(onnx_dir)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["backend"] == "onnx"  # "auto" picks the export that is there
    assert report["heavy"] == []
    assert report["at_import"] == []  # importing plait.embeddings loads none of them
    (expected,) = asyncio.run(onnx_embedder.embed(["a cat sits on the mat"]))
    assert np.allclose(report["first"], expected[:4], atol=1e-6)


def test_an_unwritable_export_folder_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    embedder = LocalEmbedder(backend="onnx", onnx_dir=blocker / "onnx")
    with pytest.raises(ModelConfigError, match="cannot write the ONNX export"):
        asyncio.run(embedder.load())
    assert list(tmp_path.iterdir()) == [blocker]  # no temporary files left behind
