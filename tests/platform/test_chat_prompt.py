"""What a bot's model sees: persona variables, knowledge, stored messages as model messages, context limits."""

from __future__ import annotations

import json

from plait.platform.bot_config import BotConfig, ModelSettings, Variable
from plait.platform.chat.recalled import SLICE_CHARS, KnowledgeRecalled
from plait.platform.chat_prompt import (
    KNOWLEDGE_SHARE,
    context_budget,
    fit,
    fitting_chunks,
    function_call_content,
    persona,
    system_message,
    text_of,
    to_messages,
)
from plait.schema import Document, Message, ToolCall
from plait.store.tables import Message as MessageRow


def _config(persona: str = "", model_id: str = "scripted/echo", **model: int) -> BotConfig:
    return BotConfig(name="b", persona=persona, model=ModelSettings(model_id=model_id, **model))


def _row(role: str, kind: str, content: str, **meta: str) -> MessageRow:
    return MessageRow(role=role, type=kind, content=content, content_type="text", meta_data=meta)


def test_persona_fills_variables_and_leaves_unknown_braces() -> None:
    config = _config("You help {{ name }} in {{city}}; {{unknown}} stays; {not a var}.").with_changes(
        variables=(
            Variable(keyword="name", default_value="a guest"),
            Variable(keyword="city", default_value="Paris"),
            Variable(keyword="off", default_value="x", enabled=False),
        )
    )
    assert persona(config, {"name": "Ada"}) == "You help Ada in Paris; {{unknown}} stays; {not a var}."


def test_system_message_joins_persona_and_knowledge() -> None:
    documents = [Document(content="Plait is fast.", metadata={"document_name": "facts.md"})]
    (system,) = system_message(_config("Be brief."), {}, documents)
    assert system.role == "system" and system.text.startswith(
        "Be brief.\n\nAnswer from the knowledge between the <knowledge> tags"
    )
    assert "[1] (facts.md) Plait is fast." in system.text
    assert system_message(_config(), {}, []) == []


def test_stored_messages_become_model_messages() -> None:
    call_a = function_call_content(ToolCall(id="a", name="f", arguments='{"x": 1}'))
    call_b = function_call_content(ToolCall(id="b", name="g", arguments="not json"))
    assert json.loads(call_a) == {"id": "a", "name": "f", "arguments": {"x": 1}}
    rows = [
        _row("user", "question", "q"),
        _row("assistant", "function_call", call_a),
        _row("assistant", "function_call", call_b),
        _row("assistant", "tool_output", "1", tool_call_id="a"),
        _row("assistant", "tool_output", "2", tool_call_id="b"),
        _row("assistant", "verbose", "{}"),
        _row("assistant", "answer", "done"),
    ]
    messages = to_messages(rows)
    assert [m.role for m in messages] == ["user", "assistant", "tool", "tool", "assistant"]
    assert [(c.id, c.name, c.arguments) for c in messages[1].tool_calls] == [
        ("a", "f", '{"x": 1}'),
        ("b", "g", "not json"),
    ]
    assert [m.tool_call_id for m in messages[2:4]] == ["a", "b"]


def test_object_string_content_reads_as_text_with_files_named() -> None:
    parts = [{"type": "text", "text": "look"}, {"type": "image", "file_url": "http://127.0.0.1/cat.png"}]
    assert text_of("object_string", json.dumps(parts)) == "look\n[image: http://127.0.0.1/cat.png]"


def test_fit_keeps_the_latest_rounds_within_budget() -> None:
    history = []
    for i in range(5):
        history += [Message.user(f"q{i}"), Message.assistant(f"a{i}")]
    history.append(Message.user("now"))
    system = [Message.system("s")]
    kept = fit(system, history, ModelSettings(model_id="scripted/echo", context_round=2))
    assert [m.text for m in kept] == ["s", "q4", "a4", "now"]
    long = [Message.user("word " * 3000), Message.assistant("ok"), Message.user("short")]
    kept = fit(system, long, ModelSettings(model_id="local/gemma3-270m"))  # 2048 tokens of context
    assert [m.text for m in kept] == ["s", "short"]
    huge = [Message.user("word " * 5000)]
    assert fit([], huge, ModelSettings(model_id="local/gemma3-270m")) == huge  # the question is never dropped


def test_knowledge_takes_at_most_half_a_small_models_context() -> None:
    chunks = [Document(content=f"chunk {i} " + "word " * 300, metadata={"document_name": f"d{i}"}) for i in range(5)]
    small = _config("p", "local/gemma3-270m", max_tokens=256)
    (system,) = system_message(small, {}, chunks)
    assert "[2] (d1)" in system.text and "[3]" not in system.text  # 2 x ~300 tokens within (2048 - 256) / 2
    (roomy,) = system_message(_config("p", "openai/gpt-4o"), {}, chunks)
    assert "[5] (d4)" in roomy.text
    huge = [Document(content="word " * 5000)]
    assert "[1]" in system_message(small, {}, huge)[0].text  # the best chunk always goes in


def test_the_recall_lists_the_chunks_that_fit_with_their_text_cut_and_their_scores() -> None:
    meta = {"dataset_id": "ds", "dataset_name": "Manuals", "document_id": "doc", "document_name": "d.txt"}
    chunks = [
        Document(
            id=f"c{i}", content="word " * 600, metadata=meta | {"keyword_score": 2.5, "vector_score": 0.5}, score=0.03
        )
        for i in range(5)
    ]
    limit = int(context_budget(_config("p", "local/gemma3-270m", max_tokens=256).model) * KNOWLEDGE_SHARE)
    kept = fitting_chunks(chunks, limit)
    assert [c.id for c in kept] == ["c0"]  # what the prompt holds, the same cut as the knowledge block's
    (chunk,) = KnowledgeRecalled(tuple(kept), strategy=0).to_json()["chunks"]
    assert len(chunk["slice"]) == SLICE_CHARS and chunk["truncated"] is True
    assert chunk["meta"] == {"dataset": {"id": "ds", "name": "Manuals"}, "document": {"id": "doc", "name": "d.txt"}}
    assert (chunk["chunk_id"], chunk["score"]) == ("c0", 0.03)
    assert chunk["scores"] == {"hybrid": 0.03, "bm25": 2.5, "vector": 0.5}
