"""The Coze OpenAPI surface, one router module per area."""

from fastapi import APIRouter

from plait.server.coze import (
    bots,
    chat,
    chat_follow,
    conversations,
    datasets,
    files,
    memory,
    plugins,
    workflows,
    workspaces,
)

router = APIRouter()
router.include_router(bots.router)
router.include_router(chat.router)
router.include_router(chat_follow.router)
router.include_router(conversations.router)
router.include_router(datasets.router)
router.include_router(files.router)
router.include_router(memory.router)
router.include_router(plugins.router)
router.include_router(workflows.router)
router.include_router(workspaces.router)

__all__ = ["router"]
