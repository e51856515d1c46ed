"""The studio page: one server-rendered shell (English by default; the page swaps in the chosen language's
strings) and its static ES modules. A strict CSP allows only this origin's scripts, styles and requests: the
page keeps an API key in the browser, so no inline or third-party script may run beside it."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
STATIC_PATH = "/studio/static"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
router = APIRouter(include_in_schema=False)


@cache
def _strings(lang: str) -> dict[str, str]:
    strings: dict[str, str] = json.loads((STATIC_DIR / "i18n" / f"{lang}.json").read_text(encoding="utf-8"))
    return strings


@cache
def _page() -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True)
    strings = _strings("en")
    return env.get_template("index.html").render(t=strings.__getitem__, static=STATIC_PATH)


@router.get("/", response_class=HTMLResponse)
async def studio_page() -> HTMLResponse:
    return HTMLResponse(_page(), headers={"content-security-policy": CSP, "cache-control": "no-cache"})


class StudioStatic(StaticFiles):
    """Revalidated by ETag on each load (``no-cache``), instead of the app-wide ``no-store``: the modules carry
    no workspace data, and a reload then costs a few 304s."""

    async def get_response(self, path: str, scope: Scope) -> Any:
        response = await super().get_response(path, scope)
        response.headers["cache-control"] = "no-cache"
        return response


def static_files() -> StudioStatic:
    return StudioStatic(directory=STATIC_DIR)
