"""The OpenAI-compatible API under ``/openai/v1`` (its own prefix: some ``/v1`` paths mean other things to Coze)."""

from plait.server.openai.routes import openai_router

__all__ = ["openai_router"]
