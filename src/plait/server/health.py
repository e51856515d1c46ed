"""``/health``: the process runs (liveness). ``/ready``: it can serve, each check named (readiness)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from plait.platform.readiness import readiness
from plait.server.deps import Services

router = APIRouter(include_in_schema=False)


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready")
async def ready(services: Services) -> JSONResponse:
    """503 names the failing checks, so an orchestrator's event says what to fix."""
    checks = await readiness(services)
    failing = sorted(name for name, result in checks.items() if result != "ok")
    body: dict[str, Any] = {"status": "ok" if not failing else "unavailable", "checks": checks}
    if failing:
        body["failing"] = failing
    return JSONResponse(body, status_code=503 if failing else 200)
