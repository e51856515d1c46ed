"""Embeddings from any server that speaks OpenAI's ``POST /embeddings``: OpenAI, Ollama, vLLM, llama.cpp,
DashScope's compatible mode, Volcengine Ark."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import httpx

from plait.embeddings.base import check_texts
from plait.models._http import status_error
from plait.models.errors import ModelConfigError, ProviderError, ProviderUnavailable
from plait.models.retry import RetrySettings, with_retries


class DimensionUnknown(ModelConfigError, AttributeError):
    """``dimension`` was read before the first response told it. An AttributeError too, so a protocol
    ``isinstance`` check says "not yet an Embedder" instead of raising."""


class OpenAICompatEmbedder:
    """Sends texts in batches of ``batch_size``, one request at a time (gentle on rate limits), retrying
    429s, 5xx and connection errors. ``dimension`` is learned from the first response when not given."""

    def __init__(
        self,
        model: str,
        *,
        base_url: str,
        api_key: str | None = None,
        dimension: int | None = None,
        batch_size: int = 64,
        timeout: float = 60.0,
        retry: RetrySettings | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.model = model
        self.model_id = f"openai_compat/{model}"
        if not base_url.startswith(("http://", "https://")):
            raise ModelConfigError(self.model_id, f"base_url must start with http:// or https://, got {base_url!r}")
        if batch_size < 1:
            raise ModelConfigError(self.model_id, f"batch_size must be >= 1, got {batch_size}")
        if dimension is not None and dimension < 1:
            raise ModelConfigError(self.model_id, f"dimension must be >= 1, got {dimension}")
        self.base_url = base_url.rstrip("/")
        self.identity = f"{self.model_id}@{self.base_url}"
        self.batch_size = batch_size
        self.retry = retry or RetrySettings()
        self._dimension = dimension
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._timeout = timeout
        self._client = client
        self._owns_client = client is None

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            raise DimensionUnknown(
                self.model_id, "the dimension is learned from the first response: call embed() first or pass dimension="
            )
        return self._dimension

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        items = check_texts(texts)
        vectors: list[list[float]] = []
        for start in range(0, len(items), self.batch_size):
            batch = items[start : start + self.batch_size]
            vectors.extend(await with_retries(self.retry, partial(self._request, batch)))
        return vectors

    async def aclose(self) -> None:
        """Close the HTTP client this embedder made (one passed in belongs to the caller)."""
        if self._client is not None and self._owns_client:
            await self._client.aclose()
            self._client = None

    async def __aenter__(self) -> OpenAICompatEmbedder:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _request(self, batch: list[str]) -> list[list[float]]:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout)
        payload = {"model": self.model, "input": batch, "encoding_format": "float"}
        try:
            response = await self._client.post(f"{self.base_url}/embeddings", json=payload, headers=self._headers)
        except httpx.TimeoutException as error:
            raise ProviderUnavailable(self.model_id, f"timed out after {self._timeout}s: {error!r}") from error
        except httpx.HTTPError as error:
            raise ProviderUnavailable(self.model_id, f"cannot reach {self.base_url}: {error!r}") from error
        if response.status_code >= 400:
            raise status_error(self.model_id, response.status_code, response.headers, response.content)
        return self._vectors(response, len(batch))

    def _vectors(self, response: httpx.Response, expected: int) -> list[list[float]]:
        """The batch's vectors in input order (by each item's ``index``), checked for count and dimension."""
        try:
            data = response.json()["data"]
            indexed = sorted(
                ((item.get("index", position), item["embedding"]) for position, item in enumerate(data)),
                key=lambda pair: pair[0],
            )
            vectors = [[float(value) for value in vector] for _, vector in indexed]
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise ProviderError(self.model_id, f"unreadable embeddings response: {response.text[:200]!r}") from error
        if len(vectors) != expected:
            raise ProviderError(self.model_id, f"asked for {expected} embeddings, got {len(vectors)}")
        if [index for index, _ in indexed] != list(range(expected)):
            raise ProviderError(self.model_id, f"the response's indexes are not 0 to {expected - 1}")
        if self._dimension is None:
            self._dimension = len(vectors[0])
        if any(len(vector) != self._dimension for vector in vectors):
            sizes = sorted({len(vector) for vector in vectors})
            raise ProviderError(self.model_id, f"expected vectors of dimension {self._dimension}, got {sizes}")
        return vectors
