"""One fake provider server for the adapter tests, started once and reset before each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_anthropic import ANTHROPIC
from fake_gemini import GEMINI
from fake_openai import OPENAI
from provider_servers import FakeProvider, serving


@pytest.fixture(scope="session")
def provider_server() -> Iterator[FakeProvider]:
    with serving(FakeProvider([OPENAI, ANTHROPIC, GEMINI])) as provider:
        yield provider


@pytest.fixture
def fake(provider_server: FakeProvider) -> Iterator[FakeProvider]:
    provider_server.reset()
    yield provider_server
    assert not provider_server.script, f"scripted replies left unused: {list(provider_server.script)}"
