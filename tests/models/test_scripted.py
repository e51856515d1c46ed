"""The scripted chat model: deterministic replies, tool calls and token-by-token streams."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence

import pytest

from plait.components.model import ChatModel
from plait.models import ScriptedChatModel, ScriptExhausted
from plait.models.scripted import Reply, count_tokens
from plait.schema import ImagePart, Message, PlaitError, StreamReader, TextPart, ToolCall, ToolSpec, Usage

HELLO = [Message.user("hello there")]


async def streamed(model: ScriptedChatModel, messages: Sequence[Message]) -> list[Message]:
    return [chunk async for chunk in model.stream(messages)]


def without_stream_indexes(message: Message) -> Message:
    """Streamed tool calls carry the index their deltas were merged by; a generated message has none."""
    calls = [dataclasses.replace(call, index=None) for call in message.tool_calls]
    return dataclasses.replace(message, tool_calls=calls)


def test_it_is_a_chat_model() -> None:
    assert isinstance(ScriptedChatModel(), ChatModel)


def test_delays_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="delays"):
        ScriptedChatModel(token_delay=-1)
    with pytest.raises(ValueError, match="delays"):
        ScriptedChatModel(first_token_delay=-0.5)


# -- echo -----------------------------------------------------------------------------------------------


async def test_echo_answers_the_last_user_message_verbatim() -> None:
    model = ScriptedChatModel.echo()
    conversation = [
        Message.system("You are a parrot."),
        Message.user("first question"),
        Message.assistant("first answer"),
        Message.user("  second question,\n with spacing  "),
        Message.tool("result", tool_call_id="c1"),
    ]
    reply = await model.generate(conversation)
    assert model.model_id == "scripted/echo"
    assert reply.role == "assistant"
    assert reply.content == "  second question,\n with spacing  "


async def test_echo_never_runs_out_and_uses_the_text_of_multi_part_messages() -> None:
    model = ScriptedChatModel.echo()
    for i in range(5):
        assert (await model.generate([Message.user(f"message {i}")])).content == f"message {i}"
    parts = Message.user([TextPart(text="look at "), ImagePart(url="https://x/y.png"), TextPart(text="this")])
    assert (await model.generate([parts])).content == "look at this"


async def test_echo_without_a_user_message_is_empty() -> None:
    assert (await ScriptedChatModel.echo().generate([Message.system("nobody spoke")])).content == ""


# -- scripts --------------------------------------------------------------------------------------------


async def test_replies_come_in_script_order() -> None:
    model = ScriptedChatModel(["one", Message.assistant("two"), "three"])
    assert [(await model.generate(HELLO)).content for _ in range(3)] == ["one", "two", "three"]


@pytest.mark.parametrize("streaming", [False, True], ids=["generate", "stream"])
async def test_a_script_that_runs_out_raises(streaming: bool) -> None:
    model = ScriptedChatModel(["only"], model_id="scripted/test")
    await model.generate(HELLO)
    with pytest.raises(ScriptExhausted, match=r"scripted/test: called 2 times but the script has 1 replies") as info:
        if streaming:
            await streamed(model, HELLO)
        else:
            await model.generate(HELLO)
    assert isinstance(info.value, PlaitError)


async def test_an_empty_script_raises_even_when_looping() -> None:
    with pytest.raises(ScriptExhausted):
        await ScriptedChatModel([], loop=True).generate(HELLO)


async def test_a_looping_script_starts_again() -> None:
    model = ScriptedChatModel(["a", "b"], loop=True)
    assert [(await model.generate(HELLO)).content for _ in range(5)] == ["a", "b", "a", "b", "a"]


async def test_callable_replies_see_the_conversation() -> None:
    def count_messages(messages: Sequence[Message]) -> str:
        return f"{len(messages)} messages"

    def shout(messages: Sequence[Message]) -> Message:
        return Message.assistant(messages[-1].text.upper())

    model = ScriptedChatModel([count_messages, shout])
    assert (await model.generate([Message.system("s"), Message.user("u")])).content == "2 messages"
    assert (await model.generate([Message.user("quiet")])).content == "QUIET"


async def test_a_scripted_message_is_copied_so_the_script_is_not_changed() -> None:
    scripted = Message.assistant("same")
    model = ScriptedChatModel([scripted], loop=True)
    first = await model.generate(HELLO)
    first.metadata["touched"] = True
    second = await model.generate(HELLO)
    assert first is not scripted
    assert second.metadata == {}
    assert scripted.usage is None


async def test_usage_counts_words_of_the_prompt_and_of_the_reply() -> None:
    model = ScriptedChatModel(["three word answer\n"])
    reply = await model.generate([Message.system("be brief"), Message.user("what is it?\n")])
    assert reply.usage == Usage(prompt_tokens=5, completion_tokens=3, total_tokens=8)
    assert reply.finish_reason == "stop"


@pytest.mark.parametrize(
    ("text", "words"),
    [("", 0), ("one", 1), ("one two", 2), ("  leading", 1), ("trailing  \n", 1), ("a\n\nb ", 2), ("  \n ", 0)],
)
def test_count_tokens_counts_whitespace_separated_words(text: str, words: int) -> None:
    assert count_tokens(text) == words


# -- tool calls -----------------------------------------------------------------------------------------


async def test_a_tool_call_reply() -> None:
    model = ScriptedChatModel([ScriptedChatModel.tool_call("get_weather", {"city": "Zürich"}, call_id="call_9")])
    reply = await model.generate(HELLO)
    assert reply.content == ""
    assert [(call.id, call.name) for call in reply.tool_calls] == [("call_9", "get_weather")]
    assert reply.tool_calls[0].parsed_arguments() == {"city": "Zürich"}
    assert "Zürich" in reply.tool_calls[0].arguments
    assert reply.finish_reason == "tool_calls"
    assert reply.usage is not None
    assert reply.usage.completion_tokens == count_tokens(reply.tool_calls[0].arguments)


def test_tool_call_arguments_given_as_text_are_kept_and_ids_are_unique() -> None:
    first = ScriptedChatModel.tool_call("raw", '{"x": 1}')
    second = ScriptedChatModel.tool_call("raw", "{}")
    assert first.tool_calls[0].arguments == '{"x": 1}'
    assert first.tool_calls[0].id.startswith("call_")
    assert first.tool_calls[0].id != second.tool_calls[0].id


# -- streaming ------------------------------------------------------------------------------------------


async def test_a_stream_yields_one_chunk_per_word() -> None:
    model = ScriptedChatModel(["The quick  brown fox\n"])
    chunks = await streamed(model, HELLO)
    text_chunks = [chunk.content for chunk in chunks if chunk.content]
    assert text_chunks == ["The", " quick", "  brown", " fox\n"]
    assert all(chunk.role == "assistant" for chunk in chunks)
    assert chunks[-1].finish_reason == "stop"
    assert all(chunk.usage is None for chunk in chunks[:-1])


async def test_a_stream_sends_tool_call_arguments_in_pieces() -> None:
    arguments = {"query": "a long enough query to need several pieces"}
    model = ScriptedChatModel([ScriptedChatModel.tool_call("search", arguments, call_id="c1")])
    chunks = await streamed(model, HELLO)
    deltas = [call for chunk in chunks for call in chunk.tool_calls]
    assert (deltas[0].id, deltas[0].name, deltas[0].arguments) == ("c1", "search", "")
    pieces = [delta.arguments for delta in deltas[1:]]
    assert len(pieces) > 2
    assert all(delta.index == 0 and not delta.id and not delta.name for delta in deltas[1:])
    assert ToolCall(arguments="".join(pieces)).parsed_arguments() == arguments


REPLIES: list[Reply] = [
    "Hello there, general Kenobi.",
    "ends with a newline\n",
    "",
    ScriptedChatModel.tool_call("get_weather", {"city": "Paris", "days": 3}),
    Message.assistant(
        "Calling two tools.",
        tool_calls=[
            ToolCall(id="a", name="first", arguments='{"q": "one"}'),
            ToolCall(id="b", name="second", arguments=""),
        ],
    ),
    Message(role="assistant", content="42", reasoning="Six times seven."),
    Message(role="assistant", content=[TextPart(text="see "), ImagePart(url="https://x/chart.png")]),
]


@pytest.mark.parametrize("reply", REPLIES, ids=["text", "newline", "empty", "tool", "text+tools", "reasoning", "parts"])
async def test_a_stream_concatenates_to_what_generate_returns(reply: Reply) -> None:
    generated = await ScriptedChatModel([reply]).generate(HELLO)
    joined = await StreamReader.from_iterable(ScriptedChatModel([reply]).stream(HELLO)).concat()
    assert without_stream_indexes(joined) == generated
    assert joined.usage is not None
    assert joined.usage.total_tokens > 0


# -- binding tools and recording calls ------------------------------------------------------------------


async def test_with_tools_returns_a_new_model_that_goes_on_with_the_same_script() -> None:
    model = ScriptedChatModel(["a", "b"], model_id="scripted/x")
    spec = ToolSpec(name="search", description="Search the web.")
    bound = model.with_tools([spec], tool_choice="required")
    assert bound is not model
    assert (bound.tools, bound.tool_choice, bound.model_id) == ([spec], "required", "scripted/x")
    assert (model.tools, model.tool_choice) == ([], "auto")
    assert (await bound.generate(HELLO)).content == "a"
    assert (await model.generate(HELLO)).content == "b"
    assert len(model.calls) == len(bound.calls) == 2


async def test_calls_records_each_conversation_as_it_was_sent() -> None:
    model = ScriptedChatModel(["a", "b"])
    conversation = [Message.user("first")]
    await model.generate(conversation)
    conversation.append(Message.user("second"))
    await streamed(model, conversation)
    assert [[m.text for m in call] for call in model.calls] == [["first"], ["first", "second"]]


async def test_cancelling_a_stream_with_token_delay_stops_it() -> None:
    model = ScriptedChatModel(["one two three four"], token_delay=3600)
    stream = model.stream(HELLO)
    received: list[str] = []
    first_arrived = asyncio.Event()

    async def consume() -> None:
        async for chunk in stream:
            received.append(chunk.text)
            first_arrived.set()

    consumer = asyncio.create_task(consume())
    await first_arrived.wait()
    consumer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await consumer
    assert received == ["one"]
    with pytest.raises(StopAsyncIteration):
        await anext(stream)
