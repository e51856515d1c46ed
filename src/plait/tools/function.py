"""Python functions as tools: the spec from type hints and docstring, the arguments checked before the call.

A model's arguments are untrusted input: pydantic validates (and coerces) them against the same signature the
spec was built from, so the function sees the types it declared and a bad field goes back to the model by
name. Sync functions run in a worker thread so a slow one does not stall every other chat on the loop.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, overload

from plait.schema import ToolSpec
from plait.tools.errors import InvalidArguments, ToolTimeout
from plait.tools.tool_names import PATTERN


class FunctionTool:
    """A function behind the ``Tool`` protocol.

    ``timeout`` bounds a call in seconds. A sync function that overruns is abandoned, not stopped (a thread
    cannot be killed): the agent moves on and the thread finishes on its own.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        timeout: float | None = None,
    ) -> None:
        _check_signature(fn)
        self.fn = fn
        self.spec = ToolSpec.from_function(fn, name=_checked_name(name or fn.__name__))
        if description is not None:
            self.spec.description = description
        self.timeout = timeout
        self._validator = _arguments_validator(fn)
        self._is_async = inspect.iscoroutinefunction(fn)

    def __repr__(self) -> str:
        return f"FunctionTool({self.spec.name!r})"

    async def call(self, arguments: Mapping[str, Any]) -> Any:
        kwargs = self.validate(arguments)
        try:
            async with asyncio.timeout(self.timeout):
                if self._is_async:
                    return await self.fn(**kwargs)
                return await asyncio.to_thread(self.fn, **kwargs)
        except TimeoutError as error:
            if self.timeout is None:  # the function's own TimeoutError, not ours
                raise
            raise ToolTimeout(f"{self.spec.name}: no result within {self.timeout:g}s") from error

    def validate(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """The keyword arguments to call the function with, or InvalidArguments naming each bad field."""
        from pydantic import ValidationError

        if not isinstance(arguments, Mapping):
            raise InvalidArguments(self.spec.name, [("(arguments)", "expected a JSON object")])
        try:
            bound: dict[str, Any] = self._validator(**arguments)
        except ValidationError as error:
            problems = [(".".join(map(str, e["loc"])) or "(arguments)", e["msg"]) for e in error.errors()]
            raise InvalidArguments(self.spec.name, problems) from None
        return bound


@overload
def tool(fn: Callable[..., Any], /) -> FunctionTool: ...


@overload
def tool(
    *, name: str | None = None, description: str | None = None, timeout: float | None = None
) -> Callable[[Callable[..., Any]], FunctionTool]: ...


def tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
) -> FunctionTool | Callable[[Callable[..., Any]], FunctionTool]:
    """``@tool`` or ``@tool(name=..., timeout=...)``: the decorated name becomes a FunctionTool."""

    def wrap(function: Callable[..., Any]) -> FunctionTool:
        return FunctionTool(function, name=name, description=description, timeout=timeout)

    return wrap if fn is None else wrap(fn)


def _checked_name(name: str) -> str:
    """A model API refuses a whole request over one bad tool name: refuse it here, where it is made."""
    if not PATTERN.fullmatch(name):
        raise ValueError(f"tool name {name!r} must be 1 to 64 letters, digits, '_' or '-'")
    return name


def _check_signature(fn: Callable[..., Any]) -> None:
    """Tool arguments are a JSON object, so every parameter must be reachable by name."""
    unnamed = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    for parameter in inspect.signature(fn).parameters.values():
        if parameter.kind in unnamed:
            raise TypeError(f"{getattr(fn, '__name__', fn)!r}: parameter {parameter.name!r} cannot be passed by name")


def _arguments_validator(fn: Callable[..., Any]) -> Callable[..., dict[str, Any]]:
    """pydantic's own validation of ``fn``'s arguments (as ``validate_call`` does it), without calling ``fn``:
    a stand-in with the same signature and hints returns the validated arguments instead."""
    from pydantic import validate_call

    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def arguments(*args: Any, **kwargs: Any) -> dict[str, Any]:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return dict(bound.arguments)

    # wraps copies fn's name, module and hints (so they resolve as for fn) and its signature through __wrapped__.
    validated: Callable[..., dict[str, Any]] = validate_call(arguments)
    return validated
