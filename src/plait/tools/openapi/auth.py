"""How a plugin authenticates to its service. The secret is handed in (the platform keeps it encrypted); it
never appears in a repr, a tool spec or an error, and is not sent on when a redirect leaves the service."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Literal

AuthKind = Literal["none", "api_key", "bearer", "basic"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PluginAuth:
    """``api_key`` goes in the header or query parameter ``name``; ``bearer`` and ``basic`` in Authorization."""

    kind: AuthKind = "none"
    secret: str = field(default="", repr=False)
    name: str = ""
    location: Literal["header", "query"] = "header"
    username: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("none", "api_key", "bearer", "basic"):
            raise ValueError(f"auth kind {self.kind!r}: use none, api_key, bearer or basic")
        if self.kind != "none" and not self.secret:
            raise ValueError(f"{self.kind} auth needs a secret")
        if self.kind == "api_key" and not self.name:
            raise ValueError("api_key auth needs the name of its header or query parameter")
        if self.location not in ("header", "query"):
            raise ValueError(f"an API key goes in a header or the query, not {self.location!r}")

    @classmethod
    def api_key(cls, name: str, secret: str, *, location: Literal["header", "query"] = "header") -> PluginAuth:
        return cls(kind="api_key", name=name, secret=secret, location=location)

    @classmethod
    def bearer(cls, token: str) -> PluginAuth:
        return cls(kind="bearer", secret=token)

    @classmethod
    def basic(cls, username: str, password: str) -> PluginAuth:
        return cls(kind="basic", username=username, secret=password)

    def apply(self, headers: dict[str, str], query: dict[str, object]) -> list[str]:
        """Add the credentials to a request; returns the headers that carry them."""
        if self.kind == "api_key" and self.location == "query":
            query[self.name] = self.secret
            return []
        if self.kind == "api_key":
            headers[self.name] = self.secret
            return [self.name]
        if self.kind == "bearer":
            headers["authorization"] = f"Bearer {self.secret}"
            return ["authorization"]
        if self.kind == "basic":
            pair = base64.b64encode(f"{self.username}:{self.secret}".encode()).decode("ascii")
            headers["authorization"] = f"Basic {pair}"
            return ["authorization"]
        return []
