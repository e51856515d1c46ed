"""Metadata filters, one syntax for every index: ``{"key": value, "other": {"$in": [a, b]}}``.

Keys are ANDed; a key matches when the document's metadata value equals the value (``value`` or ``{"$eq": value}``)
or one of the listed values (``{"$in": [...]}``). Values are strings, numbers or booleans, compared as JSON values
are: ``1 == 1.0`` but ``True != 1`` and ``"1" != 1``, so the embedded indexes, PostgreSQL and Milvus agree.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from plait.knowledge.errors import IndexStoreError

Scalar = str | int | float | bool
OPERATORS = ("$eq", "$in")


@dataclass(frozen=True, slots=True)
class Condition:
    """The metadata value under ``key`` must equal one of ``values``."""

    key: str
    values: tuple[Scalar, ...]


def parse_filters(filters: Mapping[str, Any] | None) -> list[Condition]:
    """Check a filter mapping and turn it into conditions; raises IndexStoreError on anything it cannot honour."""
    if not filters:
        return []
    if not isinstance(filters, Mapping):
        raise IndexStoreError(f"filters must be a mapping of metadata keys, got {type(filters).__name__}")
    conditions = []
    for key, spec in filters.items():
        if not isinstance(key, str) or not key:
            raise IndexStoreError(f"filter keys must be non-empty strings, got {key!r}")
        if key.startswith("$"):
            raise IndexStoreError(f"unknown filter operator {key!r} at the top level: filters are {{key: condition}}")
        conditions.append(Condition(key, _values(key, spec)))
    return conditions


def _values(key: str, spec: Any) -> tuple[Scalar, ...]:
    if not isinstance(spec, Mapping):
        return (_scalar(key, spec),)
    if len(spec) != 1:
        raise IndexStoreError(f"filter on {key!r} must have exactly one operator of {OPERATORS}, got {list(spec)}")
    [(operator, operand)] = spec.items()
    if operator == "$eq":
        return (_scalar(key, operand),)
    if operator == "$in":
        if isinstance(operand, str | bytes) or not isinstance(operand, Sequence):
            raise IndexStoreError(f"'$in' on {key!r} takes a list of values, got {operand!r}")
        return tuple(_scalar(key, value) for value in operand)
    raise IndexStoreError(f"unknown filter operator {operator!r} on {key!r}; supported: {', '.join(OPERATORS)}")


def _scalar(key: str, value: Any) -> Scalar:
    if isinstance(value, float) and not math.isfinite(value):
        raise IndexStoreError(f"filter on {key!r} compares with {value!r}, which is not a JSON number")
    if not isinstance(value, str | int | float | bool):
        raise IndexStoreError(f"filter on {key!r} compares with {value!r}: use a string, number or boolean")
    return value


def canonical(value: Any) -> str:
    """The JSON text that two metadata values share exactly when they are equal as JSON values."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=repr)


class MetadataMasks:
    """Row masks for filters over a fixed list of metadata, with each key's value codes computed once.

    Matching a filter is then a numpy comparison, not a Python loop over every row, at every query.
    Build a new one when the list changes.
    """

    def __init__(self, metadata: Sequence[Mapping[str, Any]]) -> None:
        self._metadata = metadata
        self._columns: dict[str, tuple[dict[str, int], npt.NDArray[np.int32]]] = {}

    def mask(self, conditions: Sequence[Condition]) -> npt.NDArray[np.bool_] | None:
        """Rows matching every condition, or None when there are no conditions (every row matches)."""
        result: npt.NDArray[np.bool_] | None = None
        for condition in conditions:
            codes, column = self._column(condition.key)
            wanted = [codes[text] for text in map(canonical, condition.values) if text in codes]
            matched = np.isin(column, wanted)
            result = matched if result is None else result & matched
        return result

    def _column(self, key: str) -> tuple[dict[str, int], npt.NDArray[np.int32]]:
        if key not in self._columns:
            codes: dict[str, int] = {}
            missing = object()
            column = np.full(len(self._metadata), -1, dtype=np.int32)
            for row, metadata in enumerate(self._metadata):
                value = metadata.get(key, missing)
                if value is not missing:
                    column[row] = codes.setdefault(canonical(value), len(codes))
            self._columns[key] = (codes, column)
        return self._columns[key]
