"""An OpenAPI document's text into plain JSON data, whatever it arrived as (JSON or YAML, text, a file, a URL).

YAML can make a small text expand into a huge tree (aliases of aliases: "billion laughs") or nest deeper than
the parser's recursion; both are refused here, as is a document too large to be a plausible API description.
Dates YAML reads as ``datetime`` and keys it reads as numbers become strings, so the result is JSON data.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from pathlib import Path
from typing import Any

import yaml

from plait.tools.errors import InvalidOpenAPI
from plait.tools.http_request import HttpLimits, fetch
from plait.tools.net_guard import NetGuard

MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
MAX_NODES = 200_000  # the expanded tree; far above any real API description


def parse_text(text: str | bytes, source: str) -> dict[str, Any]:
    """A JSON or YAML document as JSON data, or InvalidOpenAPI saying why it is not one."""
    if len(text) > MAX_DOCUMENT_BYTES:
        raise InvalidOpenAPI(source, [f"the document is over {MAX_DOCUMENT_BYTES:,} bytes"])
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise InvalidOpenAPI(source, [f"not UTF-8 text: {error}"]) from None
    try:
        data = json.loads(text) if text.lstrip().startswith("{") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        raise InvalidOpenAPI(source, [f"neither JSON nor YAML: {_first_line(error)}"]) from None
    except RecursionError:
        raise InvalidOpenAPI(source, ["the document nests too deeply"]) from None
    if not isinstance(data, dict):
        raise InvalidOpenAPI(source, [f"the document is a {type(data).__name__}, not an object"])
    budget = [MAX_NODES]
    try:
        plain: dict[str, Any] = _as_json(data, budget)
    except RecursionError:
        raise InvalidOpenAPI(source, ["the document nests too deeply"]) from None
    if budget[0] < 0:
        raise InvalidOpenAPI(source, [f"the document expands to over {MAX_NODES:,} values (YAML aliases?)"])
    return plain


def read_file(path: str | Path) -> dict[str, Any]:
    target = Path(path)
    try:
        size = target.stat().st_size
        if size > MAX_DOCUMENT_BYTES:
            raise InvalidOpenAPI(str(target), [f"the file is {size:,} bytes, over {MAX_DOCUMENT_BYTES:,}"])
        data = target.read_bytes()
    except OSError as error:
        raise InvalidOpenAPI(str(target), [f"cannot read the file: {error.strerror or error}"]) from None
    return parse_text(data, str(target))


async def fetch_document(url: str, guard: NetGuard, limits: HttpLimits) -> dict[str, Any]:
    """The document at ``url``, fetched through ``guard`` like every call of the plugin will be."""
    limits = dataclasses.replace(limits, max_bytes=MAX_DOCUMENT_BYTES)
    headers = {"accept": "application/json, application/yaml;q=0.9, */*;q=0.5", "user-agent": "plait-tools"}
    result = await fetch(guard, limits, "GET", url, headers=headers)
    if result.status >= 400:
        raise InvalidOpenAPI(url, [f"fetching the document answered HTTP {result.status}"])
    if result.truncated:
        raise InvalidOpenAPI(url, [f"the document is over {MAX_DOCUMENT_BYTES:,} bytes"])
    body = result.body
    return parse_text(body, url) if isinstance(body, str) else _checked_object(body, url)


def _checked_object(data: Any, source: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidOpenAPI(source, [f"the document is a {type(data).__name__}, not an object"])
    return data


def _as_json(value: Any, budget: list[int]) -> Any:
    """A copy made of JSON types; ``budget`` counts the values copied and stops the copy below zero."""
    budget[0] -= 1
    if budget[0] < 0:
        return None
    if isinstance(value, dict):
        return {_key(k): _as_json(v, budget) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_json(item, budget) for item in value]
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value


def _key(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


def _first_line(error: Exception) -> str:
    return " ".join(str(error).split())[:300]
