"""ChatTemplate: rendering, history placeholders, multi-part messages, and use as a graph node."""

from __future__ import annotations

from typing import Any

import pytest

from plait.components import PromptTemplate
from plait.compose import Chain, GraphRunError
from plait.models import ScriptedChatModel
from plait.prompts import ChatTemplate, MessagesPlaceholder, PromptError, PromptVariableError
from plait.schema import ImagePart, Message, TextPart


def test_renders_pairs_and_keeps_message_objects_verbatim() -> None:
    template = ChatTemplate(
        [
            ("system", "You are {{ persona }}."),
            Message.assistant("Literal {{ braces }} stay as written."),
            ("user", "{{ question }}"),
        ]
    )
    messages = template.format_messages(persona="terse", question="Why?")
    assert [(m.role, m.content) for m in messages] == [
        ("system", "You are terse."),
        ("assistant", "Literal {{ braces }} stay as written."),
        ("user", "Why?"),
    ]
    assert template.input_variables == ("persona", "question")


def test_returned_messages_do_not_share_state_with_the_template() -> None:
    template = ChatTemplate([Message.system("fixed"), ("user", "hi")])
    template.format_messages()[0].metadata["seen"] = True
    assert template.format_messages()[0].metadata == {}


async def test_format_is_the_protocol_and_format_messages_the_same_rendering() -> None:
    template: PromptTemplate = ChatTemplate.from_text("Say {{ word }}", system="Be brief.")
    assert isinstance(template, ChatTemplate) and isinstance(template, PromptTemplate)
    assert await template.format({"word": "hi"}) == template.format_messages(word="hi")
    assert [m.role for m in template.format_messages(word="hi")] == ["system", "user"]


def test_from_messages_is_the_constructor() -> None:
    template = ChatTemplate.from_messages([("user", "{{ a }}")], name="t")
    assert template.name == "t" and template.format_messages(a=1)[0].content == "1"


def test_variables_are_inferred_from_the_templates_when_no_schema_is_given() -> None:
    template = ChatTemplate(
        [
            ("system", "{% set greeting = 'Hello' %}{{ greeting }}, {{ name }}."),
            ("user", "{% for item in items %}{{ loop.index }}. {{ item }} {% endfor %}{{ range(2)|list }}{{ name }}"),
        ]
    )
    assert template.input_variables == ("name", "items")
    assert template.variables == {
        "type": "object",
        "properties": {"name": {}, "items": {}},
        "required": ["name", "items"],
    }
    assert template.format_messages(name="Ada", items=["x", "y"])[1].content == "1. x 2. y [0, 1]Ada"
    with pytest.raises(PromptVariableError, match="'items': required") as caught:
        template.format_messages(name="Ada")
    assert caught.value.variable == "items"


def test_block_tags_leave_no_blank_lines_and_the_trailing_newline_stays() -> None:
    template = ChatTemplate([("user", "Items:\n{% for x in xs %}\n  - {{ x }}\n{% endfor %}\nDone.\n")])
    assert template.format_messages(xs=["a", "b"])[0].content == "Items:\n  - a\n  - b\nDone.\n"


def _chat() -> ChatTemplate:
    return ChatTemplate(
        [("system", "Be kind."), MessagesPlaceholder("history"), ("user", "{{ question }}")], name="chat"
    )


def test_history_placeholder_splices_messages_and_dicts() -> None:
    history: list[Any] = [
        Message.user("Hi, I am {{ not a template }}"),
        {"role": "assistant", "content": "Hello!", "name": "bot"},
        {"role": "tool", "content": "42", "tool_call_id": "call_1"},
    ]
    messages = _chat().format_messages(history=history, question="And now?")
    assert [m.role for m in messages] == ["system", "user", "assistant", "tool", "user"]
    assert messages[1] is history[0]  # the caller's message, spliced in and never rendered
    assert (messages[2].content, messages[2].name) == ("Hello!", "bot")
    assert messages[3].tool_call_id == "call_1"


@pytest.mark.parametrize(
    ("history", "variable", "fragment"),
    [
        ("not a list", "history", "is not of type 'array'"),
        (["hello"], "history[0]", "expected a Message or a {'role', 'content'} dict, got str"),
        ([Message.user("ok"), {"role": "bot", "content": "x"}], "history[1]", "role must be one of"),
        ([{"role": "user", "content": ["x"]}], "history[0]", "content must be a string, got list"),
        ([{"role": "user"}], "history[0]", "content must be a string, got NoneType"),
        ([{"role": "user", "content": "x", "tool_calls": []}], "history[0]", "unknown keys ['tool_calls']"),
        ([{"role": "user", "content": "x", "name": 3}], "history[0]", "name and tool_call_id must be strings"),
        ([{"role": "tool", "content": "x"}], "history[0]", "needs a tool_call_id"),
    ],
)
def test_bad_history_entries_are_named_by_index(history: Any, variable: str, fragment: str) -> None:
    with pytest.raises(PromptVariableError) as caught:
        _chat().format_messages(history=history, question="q")
    assert caught.value.variable == variable
    assert fragment in str(caught.value) and str(caught.value).startswith("prompt 'chat': ")


def test_required_placeholder_must_be_given_and_optional_one_may_be_absent() -> None:
    with pytest.raises(PromptVariableError, match="'history': required but not given"):
        _chat().format_messages(question="q")
    template = ChatTemplate([MessagesPlaceholder("history", optional=True), ("user", "{{ q }}")])
    assert [m.content for m in template.format_messages(q="only")] == ["only"]
    assert template.variables["required"] == ["q"]
    assert template.variables["properties"]["history"]["type"] == "array"


def test_a_placeholder_needs_no_declaration_and_its_templates_may_read_it() -> None:
    template = ChatTemplate(
        [MessagesPlaceholder("history"), ("user", "After {{ history|length }} turns: {{ q }}")],
        variables={"q": {"type": "string"}},
    )
    messages = template.format_messages(history=[{"role": "user", "content": "hi"}], q="bye")
    assert [m.content for m in messages] == ["hi", "After 1 turns: bye"]
    assert template.variables["required"] == ["q", "history"]


def test_user_message_from_text_and_image_parts() -> None:
    template = ChatTemplate([("user", [("text", "What is in {{ what }}?"), ("image_url", "{{ url }}")])])
    [message] = template.format_messages(what="this picture", url="https://example.com/cat.png")
    assert message.content == [
        TextPart(text="What is in this picture?"),
        ImagePart(url="https://example.com/cat.png"),
    ]


@pytest.mark.parametrize(
    ("messages", "fragment"),
    [
        ([], "at least one message"),
        (["hello"], "messages[0]: expected a (role, template) pair"),
        ([("user", "a", "b")], "messages[0]: expected a (role, template) pair"),
        ([("tool", "x")], "role must be one of system, user, assistant, got 'tool'"),
        ([("user", 3)], "a template is a string or a non-empty list"),
        ([("user", [])], "a template is a string or a non-empty list"),
        ([("user", [("video", "x")])], "messages[0] (user), part 0: expected ('text' or 'image_url'"),
        ([("user", [("text", 3)])], "part 0: a template must be a string, got int"),
    ],
)
def test_malformed_messages_fail_at_construction(messages: Any, fragment: str) -> None:
    with pytest.raises(PromptError) as caught:
        ChatTemplate(messages)
    assert fragment in str(caught.value)


async def test_a_template_is_a_chain_node_before_the_echo_model() -> None:
    model = ScriptedChatModel.echo()
    template = ChatTemplate.from_text("Q: {{ question }}", system="Answer briefly.")
    chain: Chain[dict[str, str], Message] = Chain().then(template).then(model)
    app = chain.compile()
    answer = await app.ainvoke({"question": "Why is the sea salty?"})
    assert answer.text == "Q: Why is the sea salty?"
    assert [m.role for m in model.calls[0]] == ["system", "user"]
    with pytest.raises(GraphRunError) as caught:
        await app.ainvoke({"questoin": "typo"})
    assert isinstance(caught.value.cause, PromptVariableError)
    assert caught.value.cause.variables == ("questoin",)


async def test_chinese_text_round_trips_through_template_and_model() -> None:
    template = ChatTemplate(
        [("system", "你是一位{{ 角色 }}。"), ("user", "请把「{{ text }}」翻译成英文。")],
        variables={"角色": {"type": "string", "default": "翻译"}, "text": {"type": "string"}},
    )
    messages = template.format_messages(text="你好世界")
    assert [m.content for m in messages] == ["你是一位翻译。", "请把「你好世界」翻译成英文。"]
    chain: Chain[dict[str, str], Message] = Chain().then(template).then(ScriptedChatModel.echo())
    answer = await chain.compile().ainvoke({"text": "早上好"})
    assert answer.text == "请把「早上好」翻译成英文。"


def test_repr_names_the_template_and_its_variables() -> None:
    assert repr(_chat()) == "ChatTemplate(name='chat', messages=3, variables=['question', 'history'])"
