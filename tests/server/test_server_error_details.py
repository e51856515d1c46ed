"""Server-side failures reach Coze clients as a generic 5000 envelope naming the log id; the exception, with its
paths, SQL and internal URLs, goes to the log only."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import httpx
import pytest
from fastapi import FastAPI, HTTPException

from plait.platform import PlatformError
from plait.server import create_app
from plait.settings import Settings

DETAIL = "OperationalError: SELECT token_hash FROM api_keys; /srv/plait/plait.db; http://10.0.0.7:5432/db"
FAILURES: dict[str, Exception] = {
    "unexpected": RuntimeError(DETAIL),
    "platform": PlatformError(DETAIL),  # a PlatformError of its own is a bug (5000), whatever its message
    "http": HTTPException(502, detail=DETAIL),
}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    app = create_app(Settings.load(data_dir=tmp_path_factory.mktemp("data"), database_url=""))
    for name, failure in FAILURES.items():
        app.add_api_route(f"/test/{name}", _raising(failure))
    return app


def _raising(failure: Exception) -> Callable[[], Awaitable[None]]:
    async def fail() -> None:
        raise failure

    return fail


@pytest.mark.parametrize("name", FAILURES)
async def test_failures_show_the_log_id_not_the_detail(
    app: FastAPI, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="plait.server")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        response = await client.get(f"/test/{name}")
    logid = response.headers["x-tt-logid"]
    assert response.status_code >= 500
    assert response.json() == {"code": 5000, "msg": f"internal error (logid {logid})", "data": None}
    logged = [r for r in caplog.records if logid in r.getMessage()]
    assert logged and logged[0].exc_info is not None and DETAIL in str(logged[0].exc_info[1])
