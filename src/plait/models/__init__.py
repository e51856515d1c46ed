"""Chat model adapters. Each provider lives in its own module and imports its library lazily."""

from plait.models.scripted import ScriptedChatModel, ScriptExhausted

__all__ = ["ScriptExhausted", "ScriptedChatModel"]
