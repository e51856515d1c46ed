"""The FastAPI application: lifespan (migrate, connect, bootstrap), middleware, error envelopes, routers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from plait.platform import bootstrap
from plait.platform.access import PrincipalCache, user_workspaces
from plait.platform.bots import ensure_default_bot
from plait.platform.chat_runner import ChatRunner
from plait.platform.dataset_indexes import DatasetIndexes
from plait.platform.model_configs import WorkspaceModels
from plait.server import envelope
from plait.server.coze import files
from plait.server.coze import router as coze_router
from plait.server.middleware import BodyLimitMiddleware, LogIdMiddleware, add_edge_middleware
from plait.server.openai import openai_router
from plait.settings import Settings
from plait.store import UnitOfWork, create_engine, session_factory, upgrade
from plait.store.crypto import SecretBox


async def prepare_database(settings: Settings) -> None:
    """Migrate and bootstrap; what the server does at start and what CLI commands do without a server."""
    await asyncio.to_thread(upgrade, settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        async with UnitOfWork(session_factory(engine)) as uow:
            admin = await bootstrap(uow)
            workspace, _ = (await user_workspaces(uow, admin.id))[0]
            await ensure_default_bot(uow, workspace.id, admin.id, settings.default_model)
    finally:
        await engine.dispose()


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await prepare_database(settings)
        engine = create_engine(settings.database_url)
        app.state.settings = settings
        app.state.sessions = session_factory(engine)
        app.state.principals = PrincipalCache(settings.auth_cache_seconds)
        indexes = DatasetIndexes(
            settings.data_dir / "datasets", app.state.sessions, max_bytes=settings.max_upload_bytes
        )
        await indexes.recover()
        app.state.dataset_indexes = indexes
        app.state.models = WorkspaceModels(app.state.sessions, SecretBox(settings.aes_key()))
        app.state.chats = ChatRunner(app.state.sessions, models=app.state.models, datasets=indexes)
        try:
            yield
        finally:
            await app.state.chats.aclose()
            await indexes.close()
            await app.state.models.aclose()
            await engine.dispose()

    app = FastAPI(title="Plait", lifespan=lifespan, redoc_url=None)  # /docs and /openapi.json, no token needed
    envelope.install(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes, exempt={files.UPLOAD_PATH})
    app.add_middleware(LogIdMiddleware)  # outside the body limit, so even a 413 carries a log id
    add_edge_middleware(app, settings)  # CORS and secure headers, outermost

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(coze_router)
    app.include_router(openai_router)
    return app


def app_from_env() -> FastAPI:
    """The factory ``uvicorn --factory`` imports in each worker; settings come from ``PLAIT_*``."""
    return create_app(Settings.load())
