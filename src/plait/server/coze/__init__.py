"""The Coze OpenAPI surface, one router module per area."""

from fastapi import APIRouter

from plait.server.coze import bots, conversations, files, workspaces

router = APIRouter()
router.include_router(bots.router)
router.include_router(conversations.router)
router.include_router(files.router)
router.include_router(workspaces.router)

__all__ = ["router"]
