"""Prompt templates: chat messages rendered from Jinja2 templates in a sandbox, with variables checked by a
JSON Schema before anything is rendered."""

from plait.prompts.chat import ChatTemplate, MessagesPlaceholder
from plait.prompts.errors import PromptError, PromptVariableError

__all__ = ["ChatTemplate", "MessagesPlaceholder", "PromptError", "PromptVariableError"]
