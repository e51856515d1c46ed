"""An MCP tool result as what a model reads: its text, a short note for each image, sound or binary resource
(a model reading a tool message cannot see them, and base64 would only spend its context), or the
structured JSON when that is all the server sent. An error result raises, so the agent reports it as one."""

from __future__ import annotations

from typing import Any

from mcp import types

from plait.tools.errors import ToolError


class McpToolFailed(ToolError):
    """The server ran the tool and it reported an error (``isError``); the message is the server's."""


def output_of(name: str, result: types.CallToolResult) -> Any:
    parts = [_render(block) for block in result.content]
    text = "\n".join(part for part in parts if part)
    if result.is_error:
        raise McpToolFailed(f"{name}: {text or 'the server reported an error and gave no message'}")
    if not result.content and result.structured_content is not None:
        return result.structured_content
    return text


def _render(block: types.ContentBlock) -> str:
    if isinstance(block, types.TextContent):
        return block.text
    if isinstance(block, types.ImageContent | types.AudioContent):
        return f"[{block.type} {block.mime_type}, {_decoded_size(block.data)} bytes]"
    if isinstance(block, types.ResourceLink):
        about = f": {block.description}" if block.description else ""
        return f"[resource link {block.uri} {block.name}{about}]"
    resource = block.resource
    mime = f" ({resource.mime_type})" if resource.mime_type else ""
    if isinstance(resource, types.TextResourceContents):
        return f"[resource {resource.uri}{mime}]\n{resource.text}"
    return f"[resource {resource.uri}{mime}, {_decoded_size(resource.blob)} bytes]"


def _decoded_size(data: str) -> int:
    """The size base64 text decodes to, without decoding it."""
    data = data.strip()
    return len(data) * 3 // 4 - (len(data) - len(data.rstrip("=")))
