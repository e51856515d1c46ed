"""The FastAPI application: lifespan (migrate, connect, bootstrap), middleware, error envelopes, routers."""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from plait.observability import tracing
from plait.observability.logs import configure_logging
from plait.observability.metrics import worker_exited
from plait.observability.setup import Observability
from plait.platform.services import Services
from plait.server import api_schema, envelope, health, metrics, studio
from plait.server.coze import files
from plait.server.coze import routers as coze_routers
from plait.server.mcp import McpFace
from plait.server.metrics import HttpMetricsMiddleware
from plait.server.middleware import BodyLimitMiddleware, LogIdMiddleware, add_edge_middleware
from plait.server.openai import openai_router
from plait.server.tracing import TraceMiddleware
from plait.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    mcp = McpFace()

    observability = Observability(trace=settings.tracing, model_prices=settings.model_prices)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        observability.start()
        try:
            services = app.state.services = await Services.open(settings)  # routes reach it through deps.Services
            try:
                async with mcp.running():
                    yield
            finally:
                await services.aclose()
        finally:
            observability.stop()
            worker_exited(os.getpid())

    app = FastAPI(title="Plait", lifespan=lifespan, redoc_url=None)  # /docs and /openapi.json, no token needed
    envelope.install(app)
    api_schema.install(app)  # /openapi.json documents the error answers of every route
    app.add_middleware(
        BodyLimitMiddleware, max_bytes=settings.max_body_bytes, exempt={files.UPLOAD_PATH, studio.UPLOAD_PATH}
    )
    app.add_middleware(LogIdMiddleware)  # outside the body limit, so even a 413 carries a log id
    if observability.trace:
        app.add_middleware(TraceMiddleware)  # outside the log id one, which takes its trace id
    app.add_middleware(HttpMetricsMiddleware)  # outside both, so 5000 answers count
    add_edge_middleware(app, settings)  # CORS and secure headers, outermost

    for router in coze_routers:  # first: the chat routes, which take most requests
        app.include_router(router)
    app.include_router(health.router)  # /health and /ready
    app.include_router(metrics.router)  # /metrics
    app.include_router(openai_router)
    app.include_router(mcp.router)
    app.include_router(studio.router)  # the page at / and /api/studio/*
    app.mount(studio.STATIC_PATH, studio.static_files(), name="studio-static")
    return app


def app_from_env() -> FastAPI:
    """The factory ``uvicorn --factory`` imports in each worker; settings come from ``PLAIT_*``.

    Everything imported so far (the bulk of a worker's heap: the libraries, their tables and caches) lives as
    long as the process: ``gc.freeze`` takes it out of the cyclic collector's sight, so a full collection no
    longer walks it (under load the collector took about a tenth of a worker's CPU, mostly those walks)."""
    settings = Settings.load()
    configure_logging(settings.log_level, settings.log_format, tracing=tracing.wanted(settings.tracing))
    app = create_app(settings)
    gc.freeze()
    return app
