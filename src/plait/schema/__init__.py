"""Plait's base types: messages, tools, documents and streams. Imports nothing else from plait."""

from plait.schema.concat import concat, register_concat
from plait.schema.document import Document
from plait.schema.errors import ConcatError, PlaitError, StreamClosedError, ToolArgumentsError
from plait.schema.message import (
    AudioPart,
    ContentPart,
    FilePart,
    ImagePart,
    Message,
    Role,
    TextPart,
    ToolCall,
    Usage,
)
from plait.schema.stream import StreamReader, StreamWriter, as_stream, merge, pipe
from plait.schema.tool import ToolSpec

__all__ = [
    "AudioPart",
    "ConcatError",
    "ContentPart",
    "Document",
    "FilePart",
    "ImagePart",
    "Message",
    "PlaitError",
    "Role",
    "StreamClosedError",
    "StreamReader",
    "StreamWriter",
    "TextPart",
    "ToolArgumentsError",
    "ToolCall",
    "ToolSpec",
    "Usage",
    "as_stream",
    "concat",
    "merge",
    "pipe",
    "register_concat",
]
