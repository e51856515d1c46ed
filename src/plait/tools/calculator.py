"""An arithmetic tool: expressions are parsed with ``ast`` and walked node by node, never evaluated as code.

Only numbers, ``+ - * / // % **``, unary signs, parentheses and the functions and constants below are known.
Sizes are checked before the work is done, so ``9**9**9`` is refused at once instead of computed for hours.
"""

from __future__ import annotations

import ast
import math
import operator
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from plait.schema import ToolSpec
from plait.tools.errors import InvalidArguments, ToolError

Number = int | float
MAX_CHARS = 500
MAX_NODES = 200
MAX_BITS = 4_000
"""The largest integer result, in bits: about 1,200 decimal digits."""

CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau}
FUNCTIONS: dict[str, tuple[Callable[..., Number], int, int]] = {
    # name: (function, fewest arguments, most arguments)
    "sqrt": (math.sqrt, 1, 1),
    "log": (math.log, 1, 2),
    "log10": (math.log10, 1, 1),
    "exp": (math.exp, 1, 1),
    "sin": (math.sin, 1, 1),
    "cos": (math.cos, 1, 1),
    "tan": (math.tan, 1, 1),
    "floor": (math.floor, 1, 1),
    "ceil": (math.ceil, 1, 1),
    "abs": (abs, 1, 1),
    "round": (round, 1, 2),
    "min": (min, 1, 50),
    "max": (max, 1, 50),
}
_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}


class CalculationError(ToolError):
    """The expression is not plain arithmetic, too big, or has no real value (division by zero, sqrt(-1))."""


def calculate(expression: str) -> Number:
    """The value of an arithmetic expression, or a ``CalculationError`` that says what is wrong with it."""
    if not isinstance(expression, str) or not expression.strip():
        raise CalculationError("the expression must be a non-empty string")
    if len(expression) > MAX_CHARS:
        raise CalculationError(f"the expression is {len(expression)} characters long; the limit is {MAX_CHARS}")
    try:
        with warnings.catch_warnings():  # '5(3)' warns that an int is not callable; the walk refuses it anyway
            warnings.simplefilter("ignore")
            tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError) as exc:
        raise CalculationError(f"not an arithmetic expression: {expression!r}") from exc
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise CalculationError(f"the expression has more than {MAX_NODES} parts")
    try:
        return _checked(_evaluate(tree.body))
    except ZeroDivisionError as exc:
        raise CalculationError("division by zero") from exc
    except OverflowError as exc:
        raise CalculationError(f"the result is too large ({exc})") from exc
    except (ValueError, TypeError) as exc:
        raise CalculationError(f"math error: {exc}") from exc
    except RecursionError as exc:
        raise CalculationError("the expression is nested too deeply") from exc


def _evaluate(node: ast.expr) -> Number:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return _checked(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
        value = _evaluate(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow):
            _check_power(left, right)
        return _checked(_BINARY[type(node.op)](left, right))
    if isinstance(node, ast.Name) and node.id in CONSTANTS:
        return CONSTANTS[node.id]
    if isinstance(node, ast.Call):
        return _call(node)
    raise CalculationError(f"not allowed in an arithmetic expression: {ast.unparse(node)!r}")


def _call(node: ast.Call) -> Number:
    name = node.func.id if isinstance(node.func, ast.Name) else None
    if name not in FUNCTIONS:
        known = ", ".join(FUNCTIONS)
        raise CalculationError(f"unknown function {ast.unparse(node.func)!r}; known functions: {known}")
    if node.keywords:
        raise CalculationError(f"{name}() takes no keyword arguments")
    function, fewest, most = FUNCTIONS[name]
    if not fewest <= len(node.args) <= most:
        raise CalculationError(f"{name}() takes {fewest} to {most} arguments, not {len(node.args)}")
    arguments = [_evaluate(argument) for argument in node.args]
    if name == "round" and len(arguments) == 2 and not isinstance(arguments[1], int):
        raise CalculationError("round()'s second argument must be a whole number")
    return _checked(function(*arguments))


def _check_power(base: Number, exponent: Number) -> None:
    """Refuse a power whose integer result would pass MAX_BITS before computing it."""
    if not (isinstance(base, int) and isinstance(exponent, int)):
        return
    if exponent > 0 and (abs(base).bit_length() - 1) * exponent > MAX_BITS:
        raise CalculationError(f"the result of {base} ** {exponent} would be too large")


def _checked(value: Any) -> Number:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CalculationError(f"the result is not a real number: {value!r}")
    if isinstance(value, int) and value.bit_length() > MAX_BITS:
        raise CalculationError(f"the result is too large (more than {MAX_BITS} bits)")
    if isinstance(value, float) and not math.isfinite(value):
        raise CalculationError("the result is too large or not a number")
    return value


class Calculator:
    """The calculator as a tool an agent can call."""

    def __init__(self, *, name: str = "calculator") -> None:
        self.spec = ToolSpec(
            name=name,
            description=(
                "Evaluate an arithmetic expression exactly and return its value. Supports + - * / // % **, "
                f"parentheses, the constants {', '.join(CONSTANTS)} and the functions {', '.join(FUNCTIONS)}."
            ),
            parameters={
                "type": "object",
                "properties": {"expression": {"type": "string", "description": "For example: (2 + 3) * sqrt(16) / 7"}},
                "required": ["expression"],
            },
        )

    async def call(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        expression = arguments.get("expression")
        if not isinstance(expression, str) or not expression.strip():
            raise InvalidArguments(self.spec.name, [("expression", "must be a non-empty string")])
        return {"expression": expression, "result": calculate(expression)}
