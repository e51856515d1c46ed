"""The studio face: the web page people build, test and watch their agents and knowledge with, and the small
``/api/studio/*`` JSON API it needs beside the Coze and OpenAI faces (docs/studio.md)."""

from fastapi import APIRouter

from plait.server.studio import agents, chat, history, knowledge, pages, settings, usage, workflow_runs, workflows
from plait.server.studio.knowledge import UPLOAD_PATH
from plait.server.studio.pages import STATIC_PATH, static_files

router = APIRouter()
for module in (pages, agents, chat, history, knowledge, settings, usage, workflows, workflow_runs):
    router.include_router(module.router)

__all__ = ["STATIC_PATH", "UPLOAD_PATH", "router", "static_files"]
