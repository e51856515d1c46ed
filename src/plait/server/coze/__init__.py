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

# Included one by one by the app, the chat routes first: a request walks the routers in order, and each router
# level costs a match of its own (a fifth of a chat turn's routing went to the extra level of one Coze router).
routers: tuple[APIRouter, ...] = (
    chat.router,
    chat_follow.router,
    conversations.router,
    bots.router,
    datasets.router,
    files.router,
    memory.router,
    plugins.router,
    workflows.router,
    workspaces.router,
)

__all__ = ["routers"]
