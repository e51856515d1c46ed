"""The local llama.cpp chat model, run for real on the embedded gemma-3-270m (base) GGUF.

The model loads once for the module. Answers are greedy (the default), so they do not vary between runs;
max_tokens stays small so the file runs in well under a minute on two cores.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from plait.components.model import ChatModel
from plait.models.errors import BadRequestError, ModelConfigError
from plait.models.local import LocalChatModel, default_model_path
from plait.models.local_prompt import CompletionFormat, StopMatcher
from plait.schema import Message, ToolArgumentsError, ToolCall, ToolSpec, concat

WEATHER = ToolSpec(
    name="get_weather",
    description="Get the current weather for a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
PARIS_WEATHER = [Message.user("What is the weather in Paris?")]
# A grammar that forces a long string: only a close or a cancel can end such a generation early.
LONG_JSON = {
    "type": "json_schema",
    "json_schema": {
        "schema": {
            "type": "object",
            "properties": {"story": {"type": "string", "minLength": 2000}},
            "required": ["story"],
        }
    },
}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A data directory of the module's own, so the default GGUF is assembled there and not in ~/.plait."""
    folder = tmp_path_factory.mktemp("plait-data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PLAIT_DATA_DIR", str(folder))
        yield folder


@pytest.fixture(scope="module")
def model(data_dir: Path) -> LocalChatModel:
    local = LocalChatModel()
    assert local.count_tokens("warm up") > 0  # loads the model, once for the module
    return local


def test_llama_cpp_logs_go_to_plaits_debug_log_not_the_terminal(model: LocalChatModel) -> None:
    """llama.cpp prints a warning as the model loads; a user sees the answer alone, Plait's log has the line."""
    chat = subprocess.run(
        [str(Path(sys.executable).with_name("plait")), "chat", "What is the capital of France?"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert chat.stdout.strip() and chat.stderr == ""
    load = (
        "import logging\n"
        "logging.basicConfig(level=logging.DEBUG, format='%(name)s %(levelname)s %(message)s')\n"
        "from plait.models.local import LocalChatModel\n"
        "LocalChatModel().count_tokens('load')\n"
    )
    logged = subprocess.run([sys.executable, "-c", load], capture_output=True, text=True, timeout=120, check=True)
    lines = logged.stderr.splitlines()
    assert "plait.models.local DEBUG llama.cpp: llama_kv_cache_iswa: using full-size SWA cache" in "\n".join(lines)
    assert all(line.startswith("plait.models.local DEBUG llama.cpp: ") for line in lines if "llama_" in line)


def test_it_is_a_chat_model_and_the_default_gguf_is_a_base_model(model: LocalChatModel) -> None:
    assert isinstance(model, ChatModel)
    assert model.model_id == "local/gemma3-270m"
    # The embedded GGUF carries no chat template, so "auto" gives it the question-and-answer format.
    assert isinstance(model._runtime.format, CompletionFormat)


async def test_answers_a_question_in_english(model: LocalChatModel) -> None:
    reply = await model.generate([Message.user("What is the capital of France?")], max_tokens=24)
    assert reply.role == "assistant"
    assert "paris" in reply.text.lower()
    assert reply.finish_reason == "stop"
    assert reply.usage is not None
    assert reply.usage.prompt_tokens > 0
    assert reply.usage.completion_tokens > 0
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens


async def test_answers_a_question_in_chinese(model: LocalChatModel) -> None:
    reply = await model.generate([Message.user("中国的首都是哪里？")], max_tokens=24)
    assert "北京" in reply.text


async def test_a_system_message_gives_context_to_answer_from(model: LocalChatModel) -> None:
    conversation = [
        Message.system("Context: The Zorblax company was founded in 1987 by Mira Tell in Oslo."),
        Message.user("When was Zorblax founded?"),
    ]
    assert "1987" in (await model.generate(conversation, max_tokens=16)).text


async def test_stream_chunks_join_into_what_generate_returns(model: LocalChatModel) -> None:
    question = [Message.user("Who wrote Romeo and Juliet?")]
    chunks = [chunk async for chunk in model.stream(question, seed=7, temperature=0, max_tokens=24)]
    generated = await model.generate(question, seed=7, temperature=0, max_tokens=24)
    assert all(chunk.role == "assistant" for chunk in chunks)
    assert chunks[-1].finish_reason == "stop"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens > 0
    streamed = concat(chunks)
    assert streamed.text == generated.text
    assert "shakespeare" in streamed.text.lower()
    assert streamed.usage == generated.usage


async def test_concurrent_calls_all_answer_and_the_event_loop_stays_free(model: LocalChatModel) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    questions = ["What is the capital of France?", "What is the capital of Japan?", "中国的首都是哪里？"]
    ticking = asyncio.create_task(ticker())
    try:
        replies = await asyncio.gather(*(model.generate([Message.user(q)], max_tokens=24) for q in questions))
    finally:
        ticking.cancel()
    assert "paris" in replies[0].text.lower()
    assert "tokyo" in replies[1].text.lower()
    assert "北京" in replies[2].text
    assert ticks >= 10  # the loop ran the ticker all along three generations in the worker thread
    assert not model.busy


async def test_closing_a_stream_stops_generation_and_frees_the_model(model: LocalChatModel) -> None:
    prompt_tokens = len(model._runtime.tokenize(CompletionFormat().body(PARIS_WEATHER, []) + "A:", prompt=True))
    stream = model.stream(PARIS_WEATHER, response_format=LONG_JSON, max_tokens=1000)
    first = await anext(stream)
    assert first.text
    await stream.aclose()
    assert not model.busy  # the close returned after the worker stopped: nothing runs or waits
    generated = model._runtime.llama.n_tokens - prompt_tokens
    assert 0 < generated < 20  # stopped a token or two after the close, not at max_tokens
    after = await model.generate([Message.user("What is the capital of France?")], max_tokens=16)
    assert "paris" in after.text.lower()


async def test_cancelling_a_call_frees_the_model(model: LocalChatModel) -> None:
    task = asyncio.create_task(model.generate(PARIS_WEATHER, max_tokens=1000, response_format=LONG_JSON))
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not model.busy


async def test_response_format_json_schema_gives_json_that_validates(model: LocalChatModel) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
        "required": ["city", "country"],
    }
    reply = await model.generate(
        [Message.user("Give the name and country of the capital of France.")],
        response_format={"type": "json_schema", "json_schema": {"name": "capital", "schema": schema}},
        max_tokens=48,
    )
    value = json.loads(reply.text)
    jsonschema.validate(value, schema)
    assert reply.finish_reason == "stop"


async def test_response_format_json_object_gives_an_object(model: LocalChatModel) -> None:
    reply = await model.generate(
        [Message.user("Describe Paris.")], response_format={"type": "json_object"}, max_tokens=64
    )
    assert reply.finish_reason == "stop"
    assert isinstance(json.loads(reply.text), dict)


async def test_a_bound_tool_is_called_with_arguments_from_its_schema(model: LocalChatModel) -> None:
    bound = model.with_tools([WEATHER])
    assert bound._runtime is model._runtime  # the loaded model is shared, not loaded again
    assert model.tools == []  # and the original stays unbound
    reply = await bound.generate(PARIS_WEATHER, max_tokens=32)
    assert reply.finish_reason == "tool_calls"
    assert reply.text == ""
    [call] = reply.tool_calls
    assert call.name == "get_weather"
    assert call.id.startswith("call_")
    assert call.index is None
    arguments = call.parsed_arguments()
    assert isinstance(arguments.get("city"), str)
    assert "paris" in arguments["city"].lower()
    assert reply.usage is not None
    assert reply.usage.completion_tokens > 0


async def test_a_streamed_tool_call_comes_as_deltas_of_index_0(model: LocalChatModel) -> None:
    bound = model.with_tools([WEATHER], tool_choice="get_weather")
    chunks = [chunk async for chunk in bound.stream(PARIS_WEATHER, max_tokens=32)]
    deltas = [call for chunk in chunks for call in chunk.tool_calls]
    assert deltas
    assert {call.index for call in deltas} == {0}
    joined = concat(chunks)
    assert joined.finish_reason == "tool_calls"
    [call] = joined.tool_calls
    assert call.name == "get_weather"
    assert call.id.startswith("call_")
    assert "city" in call.parsed_arguments()


async def test_tool_choice_none_answers_in_text(model: LocalChatModel) -> None:
    reply = await model.with_tools([WEATHER], tool_choice="none").generate(
        [Message.user("What is the capital of France?")], max_tokens=24
    )
    assert reply.tool_calls == []
    assert reply.finish_reason == "stop"
    assert "paris" in reply.text.lower()


async def test_the_answer_after_a_tool_call_uses_its_result(model: LocalChatModel) -> None:
    bound = model.with_tools([WEATHER])
    call = ToolCall(id="call_1", name="get_weather", arguments='{"city": "Paris"}')
    conversation = [
        *PARIS_WEATHER,
        Message.assistant(tool_calls=[call]),
        Message.tool("18°C and sunny", tool_call_id="call_1", name="get_weather"),
    ]
    reply = await bound.generate(conversation, max_tokens=32)
    # The model picks the tool again, but the same call again would add nothing: it answers instead.
    assert reply.tool_calls == []
    assert "sunny" in reply.text.lower()


async def test_required_tool_choice_calls_even_a_repeated_call(model: LocalChatModel) -> None:
    call = ToolCall(id="call_1", name="get_weather", arguments='{"city": "Paris"}')
    conversation = [
        *PARIS_WEATHER,
        Message.assistant(tool_calls=[call]),
        Message.tool("18°C and sunny", tool_call_id="call_1", name="get_weather"),
    ]
    reply = await model.with_tools([WEATHER], tool_choice="required").generate(conversation, max_tokens=32)
    assert [c.name for c in reply.tool_calls] == ["get_weather"]


async def test_arguments_cut_short_are_reported_not_raised(model: LocalChatModel) -> None:
    reply = await model.with_tools([WEATHER], tool_choice="get_weather").generate(PARIS_WEATHER, max_tokens=2)
    [call] = reply.tool_calls
    assert reply.finish_reason == "length"
    error = reply.metadata["tool_arguments_error"]
    assert error["tool_name"] == "get_weather"
    assert error["raw"] == call.arguments
    with pytest.raises(ToolArgumentsError):
        call.parsed_arguments()


def test_a_token_longer_than_32_bytes_is_decoded_whole(model: LocalChatModel) -> None:
    word = " प्रधानमंत्री"  # one token of 37 bytes, which llama-cpp-python's own detokenize turns into b""
    [token] = model._runtime.tokenize(word)
    assert model._runtime.piece(token).decode() == word


def test_count_tokens_uses_the_models_tokenizer(model: LocalChatModel) -> None:
    assert model.count_tokens("") == 0
    assert 0 < model.count_tokens("hello world") < model.count_tokens("hello world, and hello again")
    assert model.count_tokens("中国的首都是哪里？") > 0


async def test_an_unknown_option_is_a_config_error_naming_it(model: LocalChatModel) -> None:
    with pytest.raises(ModelConfigError, match="'temprature'"):
        await model.generate(PARIS_WEATHER, temprature=0.5)
    with pytest.raises(ModelConfigError, match="'logit_bias'"):
        [chunk async for chunk in model.stream(PARIS_WEATHER, logit_bias={})]
    with pytest.raises(ModelConfigError, match="'max_tokens'"):
        await model.generate(PARIS_WEATHER, max_tokens="many")
    with pytest.raises(ModelConfigError, match="'stop'"):
        await model.generate(PARIS_WEATHER, stop=5)
    with pytest.raises(ModelConfigError, match="response_format"):
        await model.generate(PARIS_WEATHER, response_format={"type": "xml"})
    with pytest.raises(ModelConfigError, match="'top_q'"):
        LocalChatModel(default_options={"top_q": 1})
    with pytest.raises(ModelConfigError, match="tool_choice"):
        model.with_tools([WEATHER], tool_choice="get_time")


async def test_a_prompt_longer_than_the_context_is_a_bad_request(data_dir: Path) -> None:
    small = LocalChatModel(n_ctx=64)
    with pytest.raises(BadRequestError, match="context holds 64"):
        await small.generate([Message.user("word " * 200)])
    assert not small.busy
    await small.aclose()


def test_a_missing_model_file_is_a_config_error_with_its_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.gguf"
    with pytest.raises(ModelConfigError, match=str(missing)):
        LocalChatModel(missing)


async def test_default_options_apply_to_every_call(data_dir: Path) -> None:
    local = LocalChatModel(default_options={"max_tokens": 1})
    reply = await local.generate(PARIS_WEATHER, response_format={"type": "json_object"})
    assert reply.usage is not None
    assert reply.usage.completion_tokens == 1
    assert reply.finish_reason == "length"
    await local.aclose()
    assert local._runtime.llama is None


async def test_a_chat_template_formats_the_prompt_when_asked_for(data_dir: Path) -> None:
    template = (
        "{{ bos_token }}{% for m in messages %}<start_of_turn>{{ m.role }}\n{{ m.content }}<end_of_turn>\n"
        "{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
    )
    local = LocalChatModel(prompt_style="chat", chat_template=template)
    reply = await local.generate([Message.user("Hi")], max_tokens=4)
    assert reply.usage is not None
    # <bos> once (the template writes it) and each turn marker one special token: <bos> <start_of_turn>
    # user \n Hi <end_of_turn> \n <start_of_turn> model \n.
    assert reply.usage.prompt_tokens == 10
    await local.aclose()
    with pytest.raises(ModelConfigError, match="no chat template"):
        await LocalChatModel(prompt_style="chat").generate([Message.user("Hi")])


def test_the_default_gguf_is_assembled_whole_and_replaces_a_truncated_copy(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assembled = default_model_path()
    assert assembled.parent == data_dir / "models"
    assert default_model_path() == assembled  # present and whole: used as it is

    monkeypatch.setenv("PLAIT_DATA_DIR", str(tmp_path))
    truncated = tmp_path / "models" / assembled.name
    truncated.parent.mkdir()
    truncated.write_bytes(assembled.read_bytes()[:1000])
    assert default_model_path() == truncated
    assert truncated.stat().st_size == assembled.stat().st_size
    assert os.listdir(truncated.parent) == [assembled.name]  # no temporary file left behind


def test_stop_sequences_are_cut_and_held_back_across_chunks() -> None:
    matcher = StopMatcher(["\n\n", "\nQ:"])
    assert matcher.feed(" Paris") == ("Paris", False)
    assert matcher.feed(" is\n") == (" is", False)  # "\n" may start a stop sequence
    assert matcher.feed("nice") == ("\nnice", False)
    assert matcher.feed(".  \nQ: next") == (".", True)
    tail = StopMatcher(["\n\n"])
    assert tail.feed("  end \n") == ("end", False)
    assert tail.flush() == ""
