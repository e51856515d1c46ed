"""The sandbox: escapes and resource bombs are PromptErrors; syntax errors name the message and line."""

from __future__ import annotations

import tracemalloc

import pytest

from plait.prompts import ChatTemplate, PromptError, PromptVariableError

ESCAPES = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ x.__class__.__base__.__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ lipsum.__globals__['os'].system('id') }}",
    "{{ joiner.__call__.__globals__ }}",
    "{{ namespace.__init__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ x|attr('__class__') }}",
    "{{ '{0.__class__.__init__.__globals__}'.format(x) }}",
    "{{ '{y.__class__}'.format_map({'y': x}) }}",
    "{% set d = {} %}{{ d.update(a=1) }}",
    "{{ [].append(1) }}",
]


@pytest.mark.parametrize("payload", ESCAPES)
def test_escape_attempts_are_blocked_by_the_sandbox(payload: str) -> None:
    template = ChatTemplate([("system", "ok"), ("user", payload)], variables={"x": {"default": "text"}}, name="evil")
    with pytest.raises(
        PromptError, match=r"^prompt 'evil': messages\[1\] \(user\): blocked by the sandbox: "
    ) as caught:
        template.format_messages()
    assert not isinstance(caught.value, PromptVariableError)


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ("{{ 'a' * 10000000000 }}", "blocked by the sandbox: '*' would build more than"),
        ("{{ [0] * 10000000000 }}", "blocked by the sandbox: '*' would build more than"),
        ("{{ 2 ** 100000000 }}", "blocked by the sandbox: '**' would build an integer"),
        ("{{ range(10000000)|list }}", "rendering failed: OverflowError: Range too big"),
        ("{{ 1 / 0 }}", "rendering failed: ZeroDivisionError"),
    ],
)
def test_resource_bombs_and_runtime_errors_are_prompt_errors(payload: str, fragment: str) -> None:
    with pytest.raises(PromptError) as caught:
        ChatTemplate([("user", payload)]).format_messages()
    assert fragment in str(caught.value)


def test_building_a_template_does_not_run_its_constant_expressions() -> None:
    tracemalloc.start()
    try:
        ChatTemplate([("user", "{{ 'a'|center(50000000) }}{{ '%50000000s' % 'a' }}{{ 'a' * 50000000 }}")])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000


def test_operators_and_filters_still_work_at_render_time() -> None:
    template = ChatTemplate([("user", "{{ 'ab' * 2 }} {{ 7 % 3 }} {{ '%s!' % 'hi' }} {{ 2 ** 10 }} {{ 'x'|upper }}")])
    assert template.format_messages()[0].content == "abab 1 hi! 1024 X"


def test_values_are_not_escaped_or_rendered_again() -> None:
    template = ChatTemplate([("user", "{{ html }}")])
    assert template.format_messages(html="<b>&amp; {{ x }}</b>")[0].content == "<b>&amp; {{ x }}</b>"


@pytest.mark.parametrize(
    ("messages", "fragment"),
    [
        ([("system", "fine"), ("user", "line one\n{{ x }")], "messages[1] (user), line 2: template syntax error"),
        ([("user", "{% if a %}never closed")], "messages[0] (user), line 1: template syntax error: Unexpected end"),
        ([("user", [("text", "ok"), ("image_url", "{{ url")])], "messages[0] (user), part 1, line 1: template"),
    ],
)
def test_syntax_errors_fail_at_construction_naming_message_and_line(messages: list[object], fragment: str) -> None:
    with pytest.raises(PromptError) as caught:
        ChatTemplate(messages, name="broken")  # type: ignore[arg-type]
    assert str(caught.value).startswith(f"prompt 'broken': {fragment}")
