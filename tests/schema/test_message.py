"""Messages, content parts, usage arithmetic and tool-call argument parsing."""

from __future__ import annotations

import pytest

from plait.schema import (
    ContentPart,
    ImagePart,
    Message,
    PlaitError,
    TextPart,
    ToolArgumentsError,
    ToolCall,
    Usage,
)

# -- constructors --------------------------------------------------------------------------------------


def test_system_and_user_constructors_set_role_and_content() -> None:
    system = Message.system("be terse")
    user = Message.user("hello")
    assert (system.role, system.content) == ("system", "be terse")
    assert (user.role, user.content) == ("user", "hello")
    assert user.tool_calls == []
    assert user.tool_call_id is None
    assert user.usage is None


def test_user_constructor_accepts_multi_part_content() -> None:
    parts: list[ContentPart] = [TextPart(text="what is this?"), ImagePart(url="https://example.com/cat.png")]
    message = Message.user(parts)
    assert message.role == "user"
    assert message.content == parts


def test_assistant_constructor_copies_the_tool_call_list() -> None:
    calls = [ToolCall(id="c1", name="search", arguments="{}")]
    message = Message.assistant("thinking", tool_calls=calls)
    calls.append(ToolCall(id="c2", name="other"))
    assert message.role == "assistant"
    assert message.content == "thinking"
    assert [call.id for call in message.tool_calls] == ["c1"]


def test_assistant_constructor_defaults_to_empty_content_and_no_tool_calls() -> None:
    message = Message.assistant()
    assert message.content == ""
    assert message.tool_calls == []


def test_tool_constructor_carries_call_id_and_name() -> None:
    message = Message.tool("42", tool_call_id="call_1", name="calculator")
    assert message.role == "tool"
    assert message.content == "42"
    assert message.tool_call_id == "call_1"
    assert message.name == "calculator"
    assert Message.tool("x", tool_call_id="call_2").name is None


def test_mutable_defaults_are_not_shared_between_messages() -> None:
    first, second = Message.user("a"), Message.user("b")
    first.metadata["seen"] = True
    first.tool_calls.append(ToolCall(name="t"))
    assert second.metadata == {}
    assert second.tool_calls == []


# -- text -----------------------------------------------------------------------------------------------


def test_text_of_string_content_is_the_content() -> None:
    assert Message.assistant("plain").text == "plain"


def test_text_of_multi_part_content_joins_only_the_text_parts() -> None:
    message = Message.user(
        [
            TextPart(text="Describe "),
            ImagePart(url="data:image/png;base64,AAAA"),
            TextPart(text="this picture."),
        ]
    )
    assert message.text == "Describe this picture."


def test_text_of_content_without_text_parts_is_empty() -> None:
    assert Message.user([ImagePart(file_id="file-1")]).text == ""


# -- usage ----------------------------------------------------------------------------------------------


def test_usage_defaults_to_zero() -> None:
    assert Usage() == Usage(prompt_tokens=0, completion_tokens=0, total_tokens=0, reasoning_tokens=0, cached_tokens=0)


def test_usage_addition_adds_every_field_and_leaves_operands_alone() -> None:
    a = Usage(prompt_tokens=1, completion_tokens=2, total_tokens=3, reasoning_tokens=4, cached_tokens=5)
    b = Usage(prompt_tokens=10, completion_tokens=20, total_tokens=30, reasoning_tokens=40, cached_tokens=50)
    total = a + b
    assert total == Usage(
        prompt_tokens=11, completion_tokens=22, total_tokens=33, reasoning_tokens=44, cached_tokens=55
    )
    assert total is not a
    assert a == Usage(prompt_tokens=1, completion_tokens=2, total_tokens=3, reasoning_tokens=4, cached_tokens=5)


def test_usage_sum_over_several_calls() -> None:
    calls = [Usage(prompt_tokens=n, total_tokens=n) for n in (1, 2, 3)]
    assert sum(calls, Usage()) == Usage(prompt_tokens=6, total_tokens=6)


# -- tool-call arguments --------------------------------------------------------------------------------


def test_parsed_arguments_of_a_json_object() -> None:
    call = ToolCall(id="c1", name="weather", arguments='{"city": "Paris", "days": 3, "tags": ["a"]}')
    assert call.parsed_arguments() == {"city": "Paris", "days": 3, "tags": ["a"]}


@pytest.mark.parametrize("arguments", ["", "   ", "\n\t"])
def test_blank_arguments_parse_to_an_empty_dict(arguments: str) -> None:
    assert ToolCall(name="noop", arguments=arguments).parsed_arguments() == {}


@pytest.mark.parametrize("arguments", ['{"city": "Par', "{city: 'Paris'}", "not json", '{"a": 1}}'])
def test_malformed_json_raises_tool_arguments_error(arguments: str) -> None:
    call = ToolCall(name="weather", arguments=arguments)
    with pytest.raises(ToolArgumentsError, match="not JSON") as info:
        call.parsed_arguments()
    assert isinstance(info.value, PlaitError)
    assert info.value.tool_name == "weather"
    assert info.value.raw == arguments
    assert "'weather'" in str(info.value)


@pytest.mark.parametrize("arguments", ["[1, 2]", '"Paris"', "42", "null", "true"])
def test_json_that_is_not_an_object_raises_tool_arguments_error(arguments: str) -> None:
    call = ToolCall(name="weather", arguments=arguments)
    with pytest.raises(ToolArgumentsError, match="not a JSON object") as info:
        call.parsed_arguments()
    assert info.value.raw == arguments


def test_tool_arguments_error_keeps_the_whole_raw_text_but_shortens_the_message() -> None:
    raw = "x" * 1000
    with pytest.raises(ToolArgumentsError) as info:
        ToolCall(name="big", arguments=raw).parsed_arguments()
    assert info.value.raw == raw
    assert len(str(info.value)) < 400
