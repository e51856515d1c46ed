"""Wire schemas of the plugin endpoints (a Plait extension in Coze's style): what create and update take, and
the plugin object they answer with."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from plait.platform import plugins as typed

Text = Field(default="", max_length=typed.MAX_DESCRIPTION)


class AuthBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["none", "api_key", "bearer", "basic"] = "none"
    secret: str = Field(default="", max_length=4096)
    name: str = Field(default="", max_length=255)
    location: Literal["header", "query", "env"] = "header"
    username: str = Field(default="", max_length=255)

    def typed(self) -> typed.AuthSettings:
        return typed.AuthSettings(
            kind=self.type, secret=self.secret, name=self.name, location=self.location, username=self.username
        )


class OpenAPIBody(BaseModel):
    """The document as JSON or YAML text (or a JSON object), a URL to fetch it from, or an uploaded file."""

    model_config = ConfigDict(extra="forbid")

    document: str | dict[str, Any] | None = None
    url: str | None = Field(default=None, max_length=2048)
    file_id: str | None = Field(default=None, max_length=64)
    base_url: str | None = Field(default=None, max_length=2048)

    def typed(self) -> typed.OpenAPISource:
        document = json.dumps(self.document) if isinstance(self.document, dict) else self.document
        return typed.OpenAPISource(document=document, url=self.url, file_id=self.file_id, base_url=self.base_url)


class McpBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    transport: Literal["stdio", "http"]
    command: str = Field(default="", max_length=1024)
    args: list[str] = Field(default_factory=list, max_length=64)
    env: dict[str, str] = Field(default_factory=dict)
    url: str = Field(default="", max_length=2048)
    headers: dict[str, str] = Field(default_factory=dict)

    def typed(self) -> typed.McpSource:
        return typed.McpSource(
            transport=self.transport,
            command=self.command,
            args=tuple(self.args),
            env=self.env,
            url=self.url,
            headers=self.headers,
        )


class CreatePluginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    space_id: str
    name: str = Field(min_length=1, max_length=typed.MAX_NAME)
    description: str = Text
    type: Literal["openapi", "mcp"]
    openapi: OpenAPIBody | None = None
    mcp: McpBody | None = None
    auth: AuthBody = Field(default_factory=AuthBody)
    internal: bool = False
    timeout_seconds: float = Field(default=typed.DEFAULT_TIMEOUT, gt=0, le=typed.MAX_TIMEOUT)
    max_response_bytes: int = Field(default=typed.DEFAULT_MAX_BYTES, ge=1024, le=typed.MAX_RESPONSE_BYTES)

    def typed(self) -> typed.NewPlugin:
        return typed.NewPlugin(
            name=self.name,
            kind=self.type,
            description=self.description,
            openapi=self.openapi.typed() if self.openapi else None,
            mcp=self.mcp.typed() if self.mcp else None,
            auth=self.auth.typed(),
            internal=self.internal,
            timeout_seconds=self.timeout_seconds,
            max_response_bytes=self.max_response_bytes,
        )


class UpdatePluginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plugin_id: str
    description: str | None = Field(default=None, max_length=typed.MAX_DESCRIPTION)
    auth: AuthBody | None = None
    timeout_seconds: float | None = Field(default=None, gt=0, le=typed.MAX_TIMEOUT)

    def typed(self) -> typed.PluginChange:
        auth = self.auth.typed() if self.auth else None
        return typed.PluginChange(description=self.description, auth=auth, timeout_seconds=self.timeout_seconds)


class DeletePluginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plugin_id: str


def render_plugin(record: typed.PluginRecord) -> dict[str, Any]:
    """Never the secret (``auth.has_secret`` says whether one is set), nor an MCP command's env values."""
    auth = record.auth
    return {
        "plugin_id": record.id,
        "name": record.name,
        "description": record.description,
        "type": record.kind,
        "source": record.source,
        "auth": {
            "type": auth.kind,
            "name": auth.name,
            "location": auth.location,
            "username": auth.username,
            "has_secret": auth.has_secret,
        },
        "internal": record.internal,
        "timeout_seconds": record.timeout_seconds,
        "max_response_bytes": record.max_response_bytes,
        "api_info_list": [{"api_id": o.name, "name": o.name, "description": o.description} for o in record.operations],
        "status": "error" if record.error else "ok",
        "error": record.error or "",
        "create_time": record.created_at,
        "update_time": record.updated_at,
    }
