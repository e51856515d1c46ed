"""The HTTP face of the platform: Coze-compatible routes over `plait.platform`."""

from plait.server.app import create_app

__all__ = ["create_app"]
