"""ToolSpec.from_function: a typed function becomes a name, a description and a JSON Schema."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

import pytest
from pydantic import BaseModel, Field

from plait.schema import ToolSpec


class Point(BaseModel):
    x: int
    y: int = 0


def get_weather(
    city: str,
    days: int = 1,
    units: Literal["celsius", "fahrenheit"] = "celsius",
    tags: list[str] | None = None,
    limit: Optional[int] = None,  # noqa: UP045 - the typing spelling is what is under test
) -> str:
    """Get the weather forecast for a city.

    Uses the offline forecast table.

    Args:
        city (str): The city to look up.
        days: How many days to forecast,
            counted from today.
        units: Temperature units.
        tags: Labels to attach.
        unknown: A parameter the signature does not have.

    Returns:
        The forecast as text.
    """
    return city


def move(to: Point, *, speed: float) -> None:
    """Move to a point.

    Arguments:
        to: Where to go.
        speed: How fast.
    """


def no_doc(flag: bool) -> None:
    pass


def annotated(count: Annotated[int, Field(description="From the field.")]) -> None:
    """Count things.

    Args:
        count: From the docstring.
    """


@pytest.fixture(scope="module")
def weather() -> ToolSpec:
    return ToolSpec.from_function(get_weather)


def test_name_is_the_function_name_unless_overridden() -> None:
    assert ToolSpec.from_function(get_weather).name == "get_weather"
    assert ToolSpec.from_function(get_weather, name="forecast").name == "forecast"


def test_description_is_the_docstring_prose_without_the_args_section(weather: ToolSpec) -> None:
    assert weather.description.startswith("Get the weather forecast for a city.\n\nUses the offline forecast table.")
    assert "Args:" not in weather.description
    assert "The city to look up." not in weather.description
    assert "counted from today" not in weather.description


def test_a_function_without_a_docstring_has_an_empty_description() -> None:
    spec = ToolSpec.from_function(no_doc)
    assert spec.description == ""
    assert spec.parameters["properties"] == {"flag": {"type": "boolean"}}


def test_parameters_are_an_object_schema(weather: ToolSpec) -> None:
    assert weather.parameters["type"] == "object"
    assert list(weather.parameters["properties"]) == ["city", "days", "units", "tags", "limit"]


def test_required_lists_only_parameters_without_defaults(weather: ToolSpec) -> None:
    assert weather.parameters["required"] == ["city"]
    properties = weather.parameters["properties"]
    assert "default" not in properties["city"]
    assert properties["days"]["default"] == 1


def test_keyword_only_parameters_without_defaults_are_required() -> None:
    assert sorted(ToolSpec.from_function(move).parameters["required"]) == ["speed", "to"]


def test_arg_descriptions_come_from_the_args_section(weather: ToolSpec) -> None:
    properties = weather.parameters["properties"]
    assert properties["city"]["description"] == "The city to look up."
    assert properties["units"]["description"] == "Temperature units."
    assert "description" not in properties["limit"]


def test_a_continued_arg_description_is_joined_into_one_line(weather: ToolSpec) -> None:
    assert weather.parameters["properties"]["days"]["description"] == "How many days to forecast, counted from today."


def test_documented_args_missing_from_the_signature_are_ignored(weather: ToolSpec) -> None:
    assert "unknown" not in weather.parameters["properties"]


def test_arguments_header_is_accepted_as_args() -> None:
    properties = ToolSpec.from_function(move).parameters["properties"]
    assert properties["to"]["description"] == "Where to go."
    assert properties["speed"]["description"] == "How fast."


def test_a_field_description_wins_over_the_docstring() -> None:
    properties = ToolSpec.from_function(annotated).parameters["properties"]
    assert properties["count"]["description"] == "From the field."


def test_titles_are_removed_from_properties(weather: ToolSpec) -> None:
    assert all("title" not in prop for prop in weather.parameters["properties"].values())


@pytest.mark.parametrize(
    ("param", "expected"),
    [
        ("city", {"type": "string"}),
        ("days", {"type": "integer"}),
        ("units", {"enum": ["celsius", "fahrenheit"]}),
        ("tags", {"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}]}),
        ("limit", {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None}),
    ],
)
def test_parameter_types(weather: ToolSpec, param: str, expected: dict[str, Any]) -> None:
    prop = weather.parameters["properties"][param]
    assert {key: prop[key] for key in expected} == expected


def test_a_pydantic_model_parameter_is_referenced_from_defs() -> None:
    parameters = ToolSpec.from_function(move).parameters
    assert parameters["properties"]["to"]["$ref"] == "#/$defs/Point"
    point = parameters["$defs"]["Point"]
    assert point["type"] == "object"
    assert set(point["properties"]) == {"x", "y"}
    assert point["required"] == ["x"]
    assert parameters["properties"]["speed"]["type"] == "number"


def test_a_function_without_parameters_has_an_empty_schema() -> None:
    def ping() -> str:
        """Check the service is up."""
        return "pong"

    spec = ToolSpec.from_function(ping)
    assert spec.description == "Check the service is up."
    assert spec.parameters["properties"] == {}
    assert spec.parameters["required"] == []


def test_default_parameters_of_a_hand_built_spec_are_not_shared() -> None:
    first, second = ToolSpec(name="a"), ToolSpec(name="b")
    first.parameters["properties"]["x"] = {"type": "string"}
    assert second.parameters == {"type": "object", "properties": {}}
