"""OpenAI request bodies as pydantic models, and their conversion to Plait's messages, tools and options.

Unknown fields are ignored, as OpenAI-compatible servers do, so newer SDKs keep working; fields Plait reads
are validated, so a bad one is a 400 naming it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from plait.schema import ContentPart, ImagePart, Message, TextPart, ToolCall, ToolSpec
from plait.server.openai.errors import OpenAIError


class ImageURL(BaseModel):
    url: str
    detail: Literal["auto", "low", "high"] = "auto"


class ContentPartIn(BaseModel):
    type: Literal["text", "image_url"]
    text: str | None = None
    image_url: ImageURL | None = None


class FunctionCallIn(BaseModel):
    name: str
    arguments: str = ""


class ToolCallIn(BaseModel):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCallIn


class ChatMessageIn(BaseModel):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPartIn] | None = None
    name: str | None = None
    tool_calls: list[ToolCallIn] | None = None
    tool_call_id: str | None = None


class FunctionIn(BaseModel):
    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class ToolIn(BaseModel):
    type: Literal["function"]
    function: FunctionIn


class NamedFunction(BaseModel):
    name: str


class ToolChoiceIn(BaseModel):
    type: Literal["function"]
    function: NamedFunction


class StreamOptions(BaseModel):
    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    model: str
    messages: list[ChatMessageIn] = Field(min_length=1)
    tools: list[ToolIn] | None = None
    tool_choice: Literal["auto", "none", "required"] | ToolChoiceIn | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    response_format: dict[str, Any] | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None

    def options(self) -> dict[str, Any]:
        """The sampling options that were given; absent ones stay absent so model defaults apply."""
        given = {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_completion_tokens or self.max_tokens,
            "stop": self.stop,
            "seed": self.seed,
            "response_format": self.response_format,
        }
        return {name: value for name, value in given.items() if value is not None}

    def tool_specs(self) -> list[ToolSpec]:
        return [
            ToolSpec(name=t.function.name, description=t.function.description, parameters=t.function.parameters)
            for t in self.tools or ()
        ]

    def tool_choice_name(self) -> str:
        """Plait's tool choice: auto/none/required, or the name of the function to force."""
        choice = self.tool_choice
        if isinstance(choice, ToolChoiceIn):
            return choice.function.name
        return choice or "auto"

    def plait_messages(self) -> list[Message]:
        return [_message(m, i) for i, m in enumerate(self.messages)]


def _message(m: ChatMessageIn, index: int) -> Message:
    role = "system" if m.role == "developer" else m.role
    if role == "tool" and not m.tool_call_id:
        raise OpenAIError(
            400, f"messages.{index}.tool_call_id is required for tool messages", param=f"messages.{index}"
        )
    content: str | list[ContentPart] = m.content if isinstance(m.content, str) else ""
    if isinstance(m.content, list):
        content = [_part(p, index, j) for j, p in enumerate(m.content)]
        if role != "user":  # only user messages carry images; others keep their text
            content = "".join(p.text for p in content if isinstance(p, TextPart))
    calls = [ToolCall(id=c.id, name=c.function.name, arguments=c.function.arguments) for c in m.tool_calls or ()]
    return Message(role=role, content=content, tool_calls=calls, tool_call_id=m.tool_call_id, name=m.name)


def _part(p: ContentPartIn, index: int, j: int) -> ContentPart:
    if p.type == "text" and p.text is not None:
        return TextPart(text=p.text)
    if p.type == "image_url" and p.image_url is not None:
        return ImagePart(url=p.image_url.url, detail=p.image_url.detail)
    field = "text" if p.type == "text" else "image_url"
    where = f"messages.{index}.content.{j}.{field}"
    raise OpenAIError(400, f"{where}: required for a {p.type!r} part", param=where)


# One embeddings request's work and answer stay bounded: the answer holds inputs x dimensions numbers.
MAX_DIMENSIONS = 4096
MAX_INPUTS = 2048  # OpenAI's own limit
MAX_INPUT_CHARS = 1_000_000  # all inputs together: about 250k tokens (OpenAI takes 300k)
MAX_NUMBERS = 1024 * 1024  # inputs x dimensions: 2048 inputs of 512 dimensions, or 256 of 4096


class EmbeddingRequest(BaseModel):
    model: str
    input: str | list[str]
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(default=None, ge=8, le=MAX_DIMENSIONS)

    def texts(self) -> list[str]:
        texts = [self.input] if isinstance(self.input, str) else self.input
        if not texts or any(not text for text in texts):
            raise OpenAIError(400, "input: give a non-empty string or a non-empty list of them", param="input")
        if len(texts) > MAX_INPUTS:
            raise OpenAIError(400, f"input: at most {MAX_INPUTS} inputs per request", param="input")
        if sum(len(text) for text in texts) > MAX_INPUT_CHARS:
            raise OpenAIError(400, f"input: at most {MAX_INPUT_CHARS} characters per request", param="input")
        if len(texts) * (self.dimensions or 0) > MAX_NUMBERS:
            raise OpenAIError(
                400,
                f"dimensions: {len(texts)} inputs x {self.dimensions} dimensions is over {MAX_NUMBERS} numbers "
                "per request; send fewer inputs or ask for fewer dimensions",
                param="dimensions",
            )
        return texts
