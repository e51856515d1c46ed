"""Function tools: the spec from hints and docstring, arguments validated before the call, sync functions off
the event loop, timeouts typed, and a ReAct agent that hands failures back to the model."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Annotated, Literal

import pytest
from pydantic import Field

from plait.agents import ReactAgent, ToolResult
from plait.models.scripted import ScriptedChatModel
from plait.schema import Message
from plait.tools.errors import InvalidArguments, ToolTimeout
from plait.tools.function import FunctionTool, tool


@tool
def convert(amount: float, unit: Literal["km", "mi"], digits: Annotated[int, Field(ge=0, le=6)] = 2) -> float:
    """Convert a distance to metres.

    Args:
        amount: How far.
        unit: The unit of ``amount``.
        digits: Decimal places to round to.
    """
    factor = 1000.0 if unit == "km" else 1609.344
    return round(amount * factor, digits)


def test_the_spec_comes_from_hints_and_docstring() -> None:
    spec = convert.spec
    assert spec.name == "convert"
    assert spec.description == "Convert a distance to metres."
    assert spec.parameters["required"] == ["amount", "unit"]
    props = spec.parameters["properties"]
    assert props["unit"] == {"enum": ["km", "mi"], "type": "string", "description": "The unit of ``amount``."}
    assert props["digits"]["maximum"] == 6 and props["digits"]["default"] == 2
    assert spec.parameters["additionalProperties"] is False


async def test_arguments_are_coerced_and_defaults_applied() -> None:
    assert await convert.call({"amount": "1.5", "unit": "km"}) == 1500.0
    assert await convert.call({"amount": 1, "unit": "mi", "digits": 0}) == 1609.0


@pytest.mark.parametrize(
    ("arguments", "fields"),
    [
        ({"unit": "km"}, ["amount"]),
        ({"amount": "far", "unit": "parsec"}, ["amount", "unit"]),
        ({"amount": 1, "unit": "km", "digits": 9}, ["digits"]),
        ({"amount": 1, "unit": "km", "colour": "red"}, ["colour"]),
    ],
)
async def test_bad_arguments_name_each_bad_field(arguments: dict[str, object], fields: list[str]) -> None:
    with pytest.raises(InvalidArguments) as caught:
        await convert.call(arguments)
    assert caught.value.fields == fields
    assert str(caught.value).startswith("convert: invalid arguments: ")
    for name in fields:
        assert f"{name}: " in str(caught.value)


async def test_arguments_that_are_not_an_object_are_refused() -> None:
    with pytest.raises(InvalidArguments, match=r"\(arguments\): expected a JSON object"):
        await convert.call(["km"])  # type: ignore[arg-type]


async def test_sync_functions_run_in_a_worker_thread_and_async_ones_on_the_loop() -> None:
    loop_thread = threading.get_ident()

    def where_sync() -> int:
        return threading.get_ident()

    async def where_async() -> int:
        return threading.get_ident()

    assert await FunctionTool(where_sync).call({}) != loop_thread
    assert await FunctionTool(where_async).call({}) == loop_thread


async def test_a_slow_sync_tool_does_not_block_the_loop() -> None:
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    ticker = asyncio.create_task(tick())
    await FunctionTool(lambda: time.sleep(0.3), name="sleeper").call({})
    ticker.cancel()
    assert ticks >= 10


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_a_timeout_is_a_typed_error(kind: str) -> None:
    def slow_sync() -> str:
        time.sleep(0.5)
        return "late"

    async def slow_async() -> str:
        await asyncio.sleep(5)
        return "late"

    slow = FunctionTool(slow_sync if kind == "sync" else slow_async, name="slow", timeout=0.1)
    started = time.monotonic()
    with pytest.raises(ToolTimeout, match=r"slow: no result within 0.1s"):
        await slow.call({})
    assert time.monotonic() - started < 0.45


async def test_a_timeout_error_of_the_function_itself_is_not_relabelled() -> None:
    async def fails() -> None:
        raise TimeoutError("upstream took too long")

    with pytest.raises(TimeoutError, match="upstream took too long"):
        await FunctionTool(fails).call({})


def test_decorator_options_and_refused_definitions() -> None:
    @tool(name="lookup-city", description="Find a city.", timeout=3)
    async def find(name: str) -> str:
        return name

    assert (find.spec.name, find.spec.description, find.timeout) == ("lookup-city", "Find a city.", 3)
    with pytest.raises(ValueError, match="tool name 'has space'"):
        FunctionTool(find.fn, name="has space")
    with pytest.raises(ValueError, match="1 to 64"):
        FunctionTool(find.fn, name="x" * 65)

    def variadic(*values: int) -> int:
        return sum(values)

    with pytest.raises(TypeError, match="'values' cannot be passed by name"):
        FunctionTool(variadic)


async def test_a_react_agent_shows_the_model_which_field_was_wrong() -> None:
    model = ScriptedChatModel(
        [
            ScriptedChatModel.tool_call("convert", {"amount": "far", "unit": "km"}, call_id="c1"),
            ScriptedChatModel.tool_call("convert", {"amount": 2, "unit": "km"}, call_id="c2"),
            "2 km is 2000 m",
        ]
    )
    events = [e async for e in ReactAgent(model, tools=[convert]).run([Message.user("2 km?")])]
    results = [e for e in events if isinstance(e, ToolResult)]
    assert results[0].error and "convert: invalid arguments: amount:" in results[0].output
    assert not results[1].error and results[1].output == "2000.0"
