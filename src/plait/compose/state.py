"""Graph state with reducers: nodes return partial updates that reducers fold into one shared state.

Declare the state as a TypedDict or dataclass; a field annotated ``Annotated[list[str], append]`` folds
updates with ``append`` instead of replacing. A key without a reducer is replaced by each update.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Mapping
from typing import Any, get_args, get_origin

from plait.compose.errors import GraphSetupError

Reducer = Callable[[Any, Any], Any]


def append(current: list[Any], update: Any) -> list[Any]:
    """Extend a list with a list, or add one item."""
    return [*current, *update] if isinstance(update, list) else [*current, update]


def add(current: Any, update: Any) -> Any:
    return current + update


def merge(current: Mapping[Any, Any], update: Mapping[Any, Any]) -> dict[Any, Any]:
    return {**current, **update}


_NO_DEFAULT = object()


@dataclasses.dataclass(slots=True, frozen=True)
class StateSchema:
    """Which keys the state has, how each folds updates, and the empty value a reducer starts from."""

    reducers: Mapping[str, Reducer | None]
    defaults: Mapping[str, Any]
    open: bool  # any key may be written

    @classmethod
    def of(cls, spec: Any) -> StateSchema:
        if isinstance(spec, StateSchema):
            return spec
        if spec is dict:
            return cls(reducers={}, defaults={}, open=True)
        if isinstance(spec, Mapping):
            for key, reducer in spec.items():
                if reducer is not None and not callable(reducer):
                    raise GraphSetupError(f"state key {key!r}: reducer {reducer!r} is not callable")
            return cls(reducers=dict(spec), defaults={}, open=False)
        if typing.is_typeddict(spec) or dataclasses.is_dataclass(spec):
            hints = typing.get_type_hints(spec, include_extras=True)
            reducers: dict[str, Reducer | None] = {}
            defaults: dict[str, Any] = {}
            for key, hint in hints.items():
                reducer, base = _reducer_of(hint)
                reducers[key] = reducer
                if reducer is not None:
                    empty = _empty_value(base)
                    if empty is not _NO_DEFAULT:
                        defaults[key] = empty
            return cls(reducers=reducers, defaults=defaults, open=False)
        raise GraphSetupError(
            f"state must be a TypedDict, a dataclass, dict or a mapping of key to reducer, not {spec!r}"
        )

    def apply(self, state: dict[str, Any], update: Any, writer: str) -> None:
        """Fold ``update`` into ``state`` in place; ``writer`` names the culprit of a bad update."""
        if update is None:
            return
        if not isinstance(update, Mapping):
            raise TypeError(f"{writer} returned {type(update).__name__}; a state update must be a mapping")
        reducers = self.reducers
        for key, value in update.items():
            reducer = reducers.get(key)
            if reducer is None:
                if not self.open and key not in reducers:
                    raise KeyError(f"{writer} wrote unknown state key {key!r}")
                state[key] = value
            elif key in state:
                state[key] = reducer(state[key], value)
            elif key in self.defaults:
                state[key] = reducer(self.defaults[key], value)
            else:
                state[key] = value


def _reducer_of(hint: Any) -> tuple[Reducer | None, Any]:
    if get_origin(hint) is typing.Annotated:
        base, *metadata = get_args(hint)
        for item in reversed(metadata):
            if callable(item):
                return item, base
        return None, base
    return None, hint


def _empty_value(tp: Any) -> Any:
    origin = get_origin(tp) or tp
    if origin in (list, dict, set, tuple, int, float, str):
        return origin()
    return _NO_DEFAULT
