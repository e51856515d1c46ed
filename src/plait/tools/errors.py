"""Errors of tools. A tool's error message is what the model reads, so each says what went wrong and with what.

PlaitError
├── ToolError                 a tool call failed; the agent shows the message to the model
│   ├── InvalidArguments      the arguments do not fit the tool's schema (``fields`` names the bad ones)
│   ├── ToolTimeout           the call took longer than its timeout
│   ├── UpstreamError         the service a tool calls answered 4xx or 5xx (``status``, a clipped ``body``)
│   └── NetworkError          the request could not be made: the host does not resolve, refused, bad redirect
│       ├── BlockedAddress    the guard refused the URL: scheme, or an internal address (``host``, ``reason``)
│       └── TooManyRedirects  more redirects than the guard follows
└── InvalidOpenAPI            an OpenAPI document cannot become tools (``problems`` lists every one found)
"""

from __future__ import annotations

from collections.abc import Sequence

from plait.schema import PlaitError


class ToolError(PlaitError):
    pass


class InvalidArguments(ToolError):
    def __init__(self, tool: str, problems: Sequence[tuple[str, str]]) -> None:
        self.tool = tool
        self.fields = list(dict.fromkeys(field for field, _ in problems))
        details = "; ".join(f"{field}: {message}" for field, message in problems)
        super().__init__(f"{tool}: invalid arguments: {details}")


class ToolTimeout(ToolError):
    pass


class UpstreamError(ToolError):
    def __init__(self, tool: str, status: int, body: str) -> None:
        self.tool = tool
        self.status = status
        self.body = body
        super().__init__(f"{tool}: the service answered HTTP {status}: {body}" if body else f"{tool}: HTTP {status}")


class NetworkError(ToolError):
    pass


class BlockedAddress(NetworkError):
    def __init__(self, where: str, host: str, reason: str, address: str | None = None) -> None:
        self.where = where
        self.host = host
        self.reason = reason
        self.address = address
        at = f"{host} resolves to {address}, which is {reason}" if address else reason
        super().__init__(f"{where}: refused: {at}")


class TooManyRedirects(NetworkError):
    pass


class InvalidOpenAPI(PlaitError):
    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = list(problems)
        listed = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"{source}: not a usable OpenAPI document ({len(self.problems)} problems):\n{listed}")
