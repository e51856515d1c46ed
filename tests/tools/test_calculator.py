"""The calculator: exact arithmetic from a tree walk, and a clear refusal for anything else."""

from __future__ import annotations

import math
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plait.components import Tool
from plait.tools.calculator import MAX_CHARS, CalculationError, Calculator, calculate
from plait.tools.errors import InvalidArguments, ToolError


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("7 / 2", 3.5),
        ("7 // 2", 3),
        ("-7 % 3", 2),
        ("2 ** 10", 1024),
        ("2 ** -1", 0.5),
        ("-(3 - 5)", 2),
        ("+4", 4),
        ("1.5e3 + 0.5", 1500.5),
        ("sqrt(16) + abs(-2)", 6.0),
        ("round(2.567, 2)", 2.57),
        ("round(2.5)", 2),
        ("min(3, 1, 2) + max(4, 9)", 10),
        ("log(e)", 1.0),
        ("log(8, 2)", 3.0),
        ("floor(2.7) + ceil(2.1)", 5),
        ("sin(0) + cos(0) + tan(0)", 1.0),
        ("2 * pi", 2 * math.pi),
        ("10 ** 300 + 1", 10**300 + 1),
    ],
)
def test_arithmetic(expression: str, expected: float) -> None:
    result = calculate(expression)
    assert result == pytest.approx(expected) and type(result) is type(expected)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("1 / 0", "division by zero"),
        ("5 // 0", "division by zero"),
        ("5 % 0", "division by zero"),
        ("0 ** -1", "division by zero"),
        ("sqrt(-1)", "math error"),
        ("log(0)", "math error"),
        ("(-8) ** 0.5", "not a real number"),
        ("2.0 ** 5000", "too large"),
        ("exp(1000)", "too large"),
        ("10 ** 1000 * 1.5", "too large"),
        ("round(2.5, 1.5)", "whole number"),
        ("sqrt(1, 2)", "1 to 1 arguments"),
        ("round()", "1 to 2 arguments"),
        ("max(1, key=abs)", "keyword"),
        ("__import__('os')", "unknown function"),
        ("(1).__class__", "not allowed"),
        ("x + 1", "not allowed"),
        ("'a' * 3", "not allowed"),
        ("1 < 2", "not allowed"),
        ("1 << 40", "not allowed"),
        ("[1, 2]", "not allowed"),
        ("True + 1", "not allowed"),
        ("lambda: 1", "not allowed"),
        ("5(3)", "unknown function"),
        ("1 +", "not an arithmetic expression"),
        ("import os", "not an arithmetic expression"),
        ("", "non-empty"),
        ("   ", "non-empty"),
    ],
)
def test_refusals_say_why(expression: str, message: str) -> None:
    with pytest.raises(CalculationError, match=message):
        calculate(expression)


@pytest.mark.parametrize("expression", ["9**9**9", "2 ** 100000", "(10 ** 600) ** 10", "99 ** 99 * 99 ** 99 ** 2"])
def test_huge_powers_are_refused_at_once(expression: str) -> None:
    started = time.monotonic()
    with pytest.raises(CalculationError, match="too large"):
        calculate(expression)
    assert time.monotonic() - started < 0.5


def test_size_guards() -> None:
    with pytest.raises(CalculationError, match="characters long"):
        calculate("1+" * MAX_CHARS + "1")
    with pytest.raises(CalculationError, match="parts"):
        calculate("+".join(["1"] * 150))
    with pytest.raises(CalculationError):
        calculate("(" * 240 + "1" + ")" * 240)
    with pytest.raises(CalculationError):
        calculate("-" * 400 + "1")
    assert issubclass(CalculationError, ToolError)


@given(st.integers(-(10**12), 10**12), st.integers(-(10**12), 10**12))
def test_integer_arithmetic_is_exact(a: int, b: int) -> None:
    assert calculate(f"{a} + {b}") == a + b
    assert calculate(f"{a} - ({b})") == a - b
    assert calculate(f"{a} * {b}") == a * b
    if b:
        assert calculate(f"{a} // ({b})") == a // b
        assert calculate(f"{a} % ({b})") == a % b
        assert calculate(f"{a} / ({b})") == pytest.approx(a / b)


def assert_value_or_refusal(text: str) -> None:
    started = time.monotonic()
    try:
        result = calculate(text)
    except CalculationError:
        pass
    else:
        assert isinstance(result, int | float) and math.isfinite(result)
    assert time.monotonic() - started < 1


@settings(max_examples=300)
@given(st.text(max_size=80))
def test_any_text_is_a_value_or_a_calculation_error(text: str) -> None:
    assert_value_or_refusal(text)


@settings(max_examples=300)
@given(st.lists(st.sampled_from(list("0123456789+-*/%() .e")) | st.sampled_from(["**", "//", "sqrt("]), max_size=40))
def test_arithmetic_looking_noise_never_escapes(parts: list[str]) -> None:
    assert_value_or_refusal("".join(parts))


async def test_the_tool() -> None:
    tool = Calculator()
    assert isinstance(tool, Tool) and tool.spec.parameters["required"] == ["expression"]
    assert await tool.call({"expression": "(2 + 3) * sqrt(16) / 5"}) == {
        "expression": "(2 + 3) * sqrt(16) / 5",
        "result": 4.0,
    }
    with pytest.raises(CalculationError, match="division by zero"):
        await tool.call({"expression": "1/0"})
    for bad in ({}, {"expression": ""}, {"expression": 12}):
        with pytest.raises(InvalidArguments, match="expression"):
            await tool.call(bad)
