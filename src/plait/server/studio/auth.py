"""Who a studio request acts for: the Bearer key it carries, or, with no key, the data dir's owner when the
server and the request are both on loopback (docs/studio.md, "Signing in", says why that is safe).

A keyless request must carry ``X-Plait-Studio: 1``: a page of another origin cannot add that header (nor an
Authorization one) without a CORS preflight, which this server refuses unless ``cors_origins`` names that
origin, so a site the owner visits cannot drive the keyless studio. ``X-Plait-Workspace`` picks the local
owner's workspace (a key's must match). The studio shows every area, so a key limited to some scopes is
refused as a whole rather than route by route."""

from __future__ import annotations

import ipaddress
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from plait.platform import Forbidden, Principal, Unauthorized
from plait.platform.local_owner import local_owner
from plait.server.deps import Services, Uow

STUDIO_HEADER = "x-plait-studio"
WORKSPACE_HEADER = "x-plait-workspace"
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_bearer = HTTPBearer(auto_error=False, description="An API key from `plait keys create` (or the studio's Settings).")


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_name(netloc: str) -> str:
    return urlsplit(f"//{netloc}").hostname or ""


def local_owner_allowed(request: Request, server_host: str) -> bool:
    """Bound to loopback, reached from loopback, addressed by a loopback name (so no DNS rebinding), and not
    sent by a page of another origin."""
    host_header = request.headers.get("host", "")
    origin = request.headers.get("origin")
    return (
        is_loopback(server_host)
        and is_loopback(request.client.host if request.client else None)
        and is_loopback(_host_name(host_header))
        and (origin is None or urlsplit(origin).netloc == host_header)
    )


async def _studio_principal(
    request: Request,
    services: Services,
    uow: Uow,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    token = credentials.credentials.strip() if credentials else ""
    workspace_id = request.headers.get(WORKSPACE_HEADER) or None
    if token:
        principal = await services.principals.authenticate(uow, token)
        if principal.scopes:
            raise Forbidden("the studio shows every area: sign in with a key made without scopes")
        if workspace_id is not None:
            principal.require_workspace(workspace_id)  # a key opens its own workspace only
        return principal
    if request.headers.get(STUDIO_HEADER) == "1" and local_owner_allowed(request, services.settings.host):
        return await local_owner(uow, workspace_id)
    raise Unauthorized("sign in with an API key: send Authorization: Bearer <key>")


StudioCaller = Annotated[Principal, Depends(_studio_principal)]
