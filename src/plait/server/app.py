"""The FastAPI application: lifespan (migrate, connect, bootstrap), middleware, error envelopes, routers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from plait.platform import bootstrap
from plait.server import envelope
from plait.server.coze import files
from plait.server.coze import router as coze_router
from plait.server.middleware import BodyLimitMiddleware, LogIdMiddleware
from plait.server.openai import openai_router
from plait.settings import Settings
from plait.store import UnitOfWork, create_engine, session_factory, upgrade


async def prepare_database(settings: Settings) -> None:
    """Migrate and bootstrap; what the server does at start and what CLI commands do without a server."""
    await asyncio.to_thread(upgrade, settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        async with UnitOfWork(session_factory(engine)) as uow:
            await bootstrap(uow)
    finally:
        await engine.dispose()


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await prepare_database(settings)
        engine = create_engine(settings.database_url)
        app.state.settings = settings
        app.state.sessions = session_factory(engine)
        try:
            yield
        finally:
            await engine.dispose()

    app = FastAPI(title="Plait", lifespan=lifespan, openapi_url=None)
    envelope.install(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes, exempt={files.UPLOAD_PATH})
    app.add_middleware(LogIdMiddleware)  # added last: outermost, so even a 413 carries a log id

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(coze_router)
    app.include_router(openai_router)
    return app


def app_from_env() -> FastAPI:
    """The factory ``uvicorn --factory`` imports in each worker; settings come from ``PLAIT_*``."""
    return create_app(Settings.load())
