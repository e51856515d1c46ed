"""concat: joining a stream's chunks back into one value, by the chunks' type."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from plait.schema import ConcatError, ImagePart, Message, TextPart, ToolCall, Usage, concat, register_concat

# -- built-in rules -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        (["Hel", "lo", ", world"], "Hello, world"),
        ([b"\x00\x01", b"", b"\x02"], b"\x00\x01\x02"),
        ([[1, 2], [], [3]], [1, 2, 3]),
    ],
)
def test_sequences_join_end_to_end(chunks: list[Any], expected: Any) -> None:
    assert concat(chunks) == expected


def test_a_single_chunk_is_returned_as_is() -> None:
    chunk = {"anything": object()}
    assert concat([chunk]) is chunk


def test_dicts_join_per_key_by_each_value_type() -> None:
    chunks = [
        {"text": "Hel", "items": [1], "raw": b"a"},
        {"text": "lo", "items": [2, 3]},
        {"raw": b"b", "only_once": 7},
    ]
    assert concat(chunks) == {"text": "Hello", "items": [1, 2, 3], "raw": b"ab", "only_once": 7}


def test_nested_dicts_join_recursively() -> None:
    chunks = [{"state": {"answer": "4", "steps": ["a"]}}, {"state": {"answer": "2", "steps": ["b"]}}]
    assert concat(chunks) == {"state": {"answer": "42", "steps": ["a", "b"]}}


def test_usage_chunks_are_cumulative_so_the_last_one_wins() -> None:
    last = Usage(prompt_tokens=5, completion_tokens=9, total_tokens=14)
    assert concat([Usage(prompt_tokens=5, total_tokens=5), last]) is last


def test_subclasses_of_a_registered_type_use_its_rule() -> None:
    class Text(str):
        pass

    assert concat([Text("a"), Text("b"), "c"]) == "abc"


# -- messages -------------------------------------------------------------------------------------------


def test_message_text_chunks_join_and_keep_the_first_role() -> None:
    chunks = [Message(role="assistant", content="Hello"), Message(role="assistant", content=", world")]
    merged = concat(chunks)
    assert merged.role == "assistant"
    assert merged.content == "Hello, world"


def test_tool_call_deltas_merge_by_index() -> None:
    chunks = [
        Message(role="assistant", tool_calls=[ToolCall(id="call_a", name="search", index=0)]),
        Message(role="assistant", tool_calls=[ToolCall(arguments='{"q": ', index=0)]),
        Message(role="assistant", tool_calls=[ToolCall(id="call_b", name="fetch", arguments="{}", index=1)]),
        Message(role="assistant", tool_calls=[ToolCall(arguments='"cats"}', index=0)]),
    ]
    merged = concat(chunks)
    assert [(c.id, c.name, c.arguments, c.index) for c in merged.tool_calls] == [
        ("call_a", "search", '{"q": "cats"}', 0),
        ("call_b", "fetch", "{}", 1),
    ]
    assert merged.tool_calls[0].parsed_arguments() == {"q": "cats"}


def test_tool_calls_are_ordered_by_index_and_unindexed_calls_come_last() -> None:
    chunks = [
        Message(role="assistant", tool_calls=[ToolCall(id="whole", name="ping")]),
        Message(role="assistant", tool_calls=[ToolCall(id="second", name="b", index=1)]),
        Message(role="assistant", tool_calls=[ToolCall(id="first", name="a", index=0)]),
    ]
    assert [call.id for call in concat(chunks).tool_calls] == ["first", "second", "whole"]


def test_merging_does_not_mutate_the_chunks() -> None:
    chunks = [
        Message(role="assistant", content="a", tool_calls=[ToolCall(id="c", name="f", arguments="{", index=0)]),
        Message(role="assistant", content="b", tool_calls=[ToolCall(arguments="}", index=0)], metadata={"k": 1}),
    ]
    before = copy.deepcopy(chunks)
    merged = concat(chunks)
    assert merged.tool_calls[0].arguments == "{}"
    assert chunks == before


def test_reasoning_joins_like_text() -> None:
    chunks = [
        Message(role="assistant", reasoning="Let me "),
        Message(role="assistant", reasoning="think."),
        Message(role="assistant", content="42"),
    ]
    merged = concat(chunks)
    assert merged.reasoning == "Let me think."
    assert merged.content == "42"


def test_usage_and_finish_reason_take_the_last_value_given() -> None:
    early = Usage(prompt_tokens=3, total_tokens=3)
    final = Usage(prompt_tokens=3, completion_tokens=2, total_tokens=5)
    chunks = [
        Message(role="assistant", content="a", usage=early),
        Message(role="assistant", content="b", usage=final, finish_reason="length"),
        Message(role="assistant", content="c", finish_reason="stop"),
        Message(role="assistant"),
    ]
    merged = concat(chunks)
    assert merged.usage is final
    assert merged.finish_reason == "stop"
    assert merged.content == "abc"


def test_tool_call_id_name_and_metadata_are_carried_over() -> None:
    chunks = [
        Message(role="tool", content="4", metadata={"a": 1}),
        Message(role="tool", content="2", tool_call_id="call_1", name="calc", metadata={"b": 2}),
    ]
    merged = concat(chunks)
    assert (merged.role, merged.content, merged.tool_call_id, merged.name) == ("tool", "42", "call_1", "calc")
    assert merged.metadata == {"a": 1, "b": 2}


def test_multi_part_chunks_turn_the_content_into_parts() -> None:
    image = ImagePart(url="https://example.com/a.png")
    chunks = [
        Message(role="assistant", content="Here "),
        Message(role="assistant", content="it is: "),
        Message(role="assistant", content=[image]),
        Message(role="assistant", content=""),
        Message(role="assistant", content="done"),
    ]
    merged = concat(chunks)
    assert merged.content == [TextPart(text="Here it is: "), image, TextPart(text="done")]
    assert merged.text == "Here it is: done"


# -- custom types ---------------------------------------------------------------------------------------


@dataclass
class Tally:
    count: int


def _join_tallies(chunks: Sequence[Tally]) -> Tally:
    return Tally(count=sum(chunk.count for chunk in chunks))


register_concat(Tally, _join_tallies)


def test_a_registered_type_joins_with_its_rule() -> None:
    assert concat([Tally(1), Tally(2), Tally(4)]) == Tally(7)


def test_a_registered_type_joins_inside_dicts() -> None:
    assert concat([{"n": Tally(1), "s": "a"}, {"n": Tally(2), "s": "b"}]) == {"n": Tally(3), "s": "ab"}


@dataclass
class Ruled:
    rule: str = ""


def test_a_later_registration_reaches_subclasses_already_joined() -> None:
    class Middle(Ruled):
        pass

    class Leaf(Middle):
        pass

    register_concat(Ruled, lambda chunks: Ruled("base rule"))
    assert concat([Leaf(), Leaf()]).rule == "base rule"
    register_concat(Middle, lambda chunks: Middle("middle rule"))
    assert concat([Leaf(), Leaf()]).rule == "middle rule"
    register_concat(Ruled, lambda chunks: Ruled("new base rule"))
    assert concat([Ruled(), Ruled()]).rule == "new base rule"
    assert concat([Leaf(), Leaf()]).rule == "middle rule"


# -- errors ---------------------------------------------------------------------------------------------


def test_an_empty_sequence_has_no_value() -> None:
    with pytest.raises(ConcatError, match="empty"):
        concat([])


def test_several_chunks_of_an_unregistered_type_cannot_join() -> None:
    class Unknown:
        pass

    with pytest.raises(ConcatError, match="no concat rule for chunks of type Unknown"):
        concat([Unknown(), Unknown()])


@pytest.mark.parametrize(
    "chunks",
    [
        ["text", b"bytes"],
        [[1], "x"],
        [Message(role="assistant", content="a"), {"content": "b"}],
        [Tally(1), 2],
    ],
    ids=["str-bytes", "list-str", "message-dict", "custom-int"],
)
def test_mixed_chunk_types_cannot_join(chunks: list[Any]) -> None:
    with pytest.raises(ConcatError, match="cannot join"):
        concat(chunks)


def test_a_dict_key_with_values_of_an_unregistered_type_cannot_join() -> None:
    with pytest.raises(ConcatError, match="int"):
        concat([{"count": 1}, {"count": 2}])
