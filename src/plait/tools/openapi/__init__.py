"""OpenAPI 3.0 and 3.1 documents (JSON or YAML; text, file or URL) as plugins: one tool per operation."""

from plait.tools.openapi.auth import PluginAuth
from plait.tools.openapi.plugin import OpenAPIPlugin, OpenAPITool, PluginConfig

__all__ = ["OpenAPIPlugin", "OpenAPITool", "PluginAuth", "PluginConfig"]
