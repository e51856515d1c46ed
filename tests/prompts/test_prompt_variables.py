"""Variables: JSON Schema declarations, defaults, validation before rendering, unknown and undefined names."""

from __future__ import annotations

from typing import Any

import pytest

from plait.prompts import ChatTemplate, PromptError, PromptVariableError

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "topic": {"type": "string"},
        "count": {"type": "integer", "minimum": 1, "default": 3},
        "tone": {"enum": ["formal", "casual"], "default": "casual"},
        "user": {
            "type": "object",
            "properties": {"id": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}}},
            "required": ["id"],
        },
    },
    "required": ["topic"],
}


def _template(**options: Any) -> ChatTemplate:
    text = "{{ count }} {{ tone }} facts on {{ topic }}{% if user is defined %} for {{ user.id }}{% endif %}"
    return ChatTemplate([("user", text)], variables=SCHEMA, **options)


def test_schema_defaults_are_applied_before_rendering() -> None:
    template = _template()
    assert template.format_messages(topic="tea")[0].content == "3 casual facts on tea"
    assert (
        template.format_messages(topic="tea", count=1, user={"id": "u1"})[0].content == "1 casual facts on tea for u1"
    )
    assert template.input_variables == ("topic", "count", "tone", "user")
    assert template.variables == SCHEMA


def test_a_mutable_default_is_fresh_on_every_call() -> None:
    template = ChatTemplate([("user", "{{ notes|length }}")], variables={"notes": {"type": "array", "default": []}})
    template.format_messages()
    template.variables["properties"]["notes"]["default"].append("edited copy")
    assert template.format_messages()[0].content == "0"


@pytest.mark.parametrize(
    ("values", "variable", "fragment"),
    [
        ({"count": 2}, "topic", "required but not given"),
        ({"topic": 7}, "topic", "7 is not of type 'string'"),
        ({"topic": "tea", "count": 0}, "count", "0 is less than the minimum of 1"),
        ({"topic": "tea", "count": True}, "count", "True is not of type 'integer'"),
        ({"topic": "tea", "tone": "angry"}, "tone", "'angry' is not one of ['formal', 'casual']"),
        ({"topic": "tea", "user": {"id": "u", "tags": ["a", 2]}}, "user.tags[1]", "2 is not of type 'string'"),
        ({"topic": "tea", "user": {"tags": []}}, "user.id", "'id' is a required property"),
    ],
)
def test_invalid_values_are_refused_before_rendering(values: dict[str, Any], variable: str, fragment: str) -> None:
    with pytest.raises(PromptVariableError) as caught:
        _template(name="facts").format_messages(**values)
    assert caught.value.variable == variable
    assert str(caught.value) == f"prompt 'facts': variable {variable!r}: {fragment}"


def test_all_missing_required_variables_are_reported_together() -> None:
    template = ChatTemplate([("user", "{{ a }}{{ b }}{{ c }}")])
    with pytest.raises(PromptVariableError, match="variables 'a', 'c': required but not given") as caught:
        template.format_messages(b=1)
    assert caught.value.variables == ("a", "c")


def test_unknown_variables_are_refused_when_strict_and_dropped_when_not() -> None:
    with pytest.raises(PromptVariableError, match="'topik', 'extra': not declared by this template") as caught:
        _template().format_messages(topik="tea", extra=1)
    assert caught.value.variables == ("topik", "extra")
    assert "pass strict=False" in str(caught.value)
    lenient = _template(strict=False)
    assert lenient.format_messages(topic="tea", extra=1)[0].content == "3 casual facts on tea"


def test_an_optional_variable_read_without_a_guard_is_undefined_at_render() -> None:
    template = ChatTemplate(
        [("system", "Be brief."), ("user", "{{ question }}{% if verbose %} Details: {{ detail }}{% endif %}")],
        variables={
            "type": "object",
            "properties": {
                "question": {"type": "string"},
                "verbose": {"type": "boolean", "default": False},
                "detail": {"type": "string"},
            },
            "required": ["question"],
        },
        name="ask",
    )
    assert template.format_messages(question="Why?")[1].content == "Why?"
    with pytest.raises(PromptVariableError) as caught:
        template.format_messages(question="Why?", verbose=True)
    assert caught.value.variable == "detail"
    assert str(caught.value) == "prompt 'ask': messages[1] (user): variable 'detail': undefined"


def test_a_missing_attribute_of_a_variable_is_named() -> None:
    template = ChatTemplate([("user", "{{ user.nickname }}")], variables={"user": {"type": "object"}})
    with pytest.raises(PromptVariableError, match="has no attribute 'nickname'") as caught:
        template.format_messages(user={"id": 1})
    assert caught.value.variable == "nickname"


def test_a_shorthand_property_with_a_default_is_optional() -> None:
    template = ChatTemplate.from_text(
        "{{ greeting }}, {{ name }}", variables={"name": {}, "greeting": {"default": "Hi"}}
    )
    assert template.variables["required"] == ["name"]
    assert template.format_messages(name="Li")[0].content == "Hi, Li"


@pytest.mark.parametrize(
    ("variables", "fragment"),
    [
        ({"other": {"type": "string"}}, "messages[0] (user) uses 'name', which the variables schema does not declare"),
        ({"name": "string"}, "'name' maps to a str"),
        ({"name": {"type": "strng"}}, "invalid variables schema at properties.name.type"),
        ({"type": "object", "properties": {"name": {}}, "required": ["nam"]}, "requires 'nam' but has no property"),
        ({"type": "object", "required": "name"}, "invalid variables schema at required"),
    ],
)
def test_a_schema_that_does_not_fit_the_templates_fails_at_construction(variables: Any, fragment: str) -> None:
    with pytest.raises(PromptError) as caught:
        ChatTemplate([("user", "{{ name }}")], variables=variables)
    assert fragment in str(caught.value)
    assert not isinstance(caught.value, PromptVariableError)


async def test_variables_must_be_a_mapping() -> None:
    with pytest.raises(PromptError, match="variables must be a mapping of names to values, got str"):
        await ChatTemplate([("user", "{{ a }}")]).format("just text")  # type: ignore[arg-type]


def test_the_effective_schema_is_a_copy() -> None:
    template = _template()
    template.variables["required"].append("tone")
    assert template.format_messages(topic="tea")[0].content == "3 casual facts on tea"
