"""Question and input nodes: the run pauses with an interrupt, and the answer given on resume is the output."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wf_helpers import chain, make_doc, node, ref

from plait.models.registry import default_registry
from plait.workflows import (
    Interrupted,
    MemoryRunStore,
    NodeFinished,
    RunEvent,
    RunFailed,
    RunFinished,
    Services,
    WorkflowDoc,
    resume_workflow,
    run_workflow,
)

SERVICES = Services(models=default_registry())


class Session:
    """A run and its resumes against one checkpoint store."""

    def __init__(self, doc: WorkflowDoc) -> None:
        self.doc = doc
        self.store = MemoryRunStore()
        self.run_id = ""

    async def start(self, inputs: Mapping[str, Any]) -> list[RunEvent]:
        events = [e async for e in run_workflow(self.doc, inputs, services=SERVICES, checkpointer=self.store)]
        self.run_id = events[0].run_id  # type: ignore[union-attr]
        return events

    async def answer(self, answer: Any) -> list[RunEvent]:
        stream = resume_workflow(self.doc, self.run_id, answer, checkpointer=self.store, services=SERVICES)
        return [e async for e in stream]


def interrupt_of(events: list[RunEvent]) -> Interrupted:
    found = [e for e in events if isinstance(e, Interrupted)]
    assert len(found) == 1, events[-1]
    return found[0]


def question_doc(config: dict[str, Any], branches: bool = False) -> WorkflowDoc:
    ask = node("ask", "question", {"city": ref("start", "q")}, config=config)
    outputs = {"answer": ref("ask", "answer")}
    if config.get("answer_type") == "options":
        outputs |= {"id": ref("ask", "option_id"), "picked": ref("ask", "option_content")}
    end = node("end", "end", outputs)
    if not branches:
        return make_doc([ask, end], chain("start", "ask", "end"))
    said = [
        node(
            f"on_{h}",
            "llm",
            {"a": ref("ask", "answer")},
            config={"model": "scripted/echo", "prompt": f"{h}: {{{{ a }}}}"},
        )
        for h in ("option_0", "option_1", "other")
    ]
    edges = [*chain("start", "ask")]
    for handle in ("option_0", "option_1", "other"):
        edges += [{"source": "ask", "target": f"on_{handle}", "source_handle": handle}, *chain(f"on_{handle}", "end")]
    return make_doc([ask, *said, end], edges)


async def test_a_text_question_waits_and_its_answer_is_the_output() -> None:
    session = Session(question_doc({"question": "What do you like in {{ city }}?"}))
    paused = interrupt_of(await session.start({"q": "Lyon"}))
    assert paused.kind == "question" and paused.node_id == "ask"
    assert paused.data == {
        "messages": [
            {"type": "question", "content_type": "text", "content": "What do you like in Lyon?", "id": "ask_0"}
        ]
    }
    events = await session.answer("the food")
    final = events[-1]
    assert isinstance(final, RunFinished), final
    assert final.outputs["answer"] == "the food"
    assert not [e for e in events if isinstance(e, NodeFinished) and e.node_id == "start"]  # not run again


async def test_options_are_picked_by_text_or_letter_and_choose_the_branch() -> None:
    config = {"question": "Tea or coffee?", "answer_type": "options", "options": ["Tea", "Coffee"]}
    for answer, option_id, branch in (("coffee", "B", "option_1"), ("a", "A", "option_0"), ("water", "other", "other")):
        session = Session(question_doc(config, branches=True))
        paused = interrupt_of(await session.start({"q": "x"}))
        content = paused.data["messages"][0]["content"]
        assert content == {"question": "Tea or coffee?", "options": [{"name": "Tea"}, {"name": "Coffee"}]}
        events = await session.answer(answer)
        assert events[-1].outputs["id"] == option_id  # type: ignore[union-attr]
        ran = [e.node_id for e in events if isinstance(e, NodeFinished) and e.node_id.startswith("on_")]
        assert ran == [f"on_{branch}"]
        asked = next(e for e in events if isinstance(e, NodeFinished) and e.node_id == "ask")
        assert asked.branch == branch


async def test_without_other_an_unmatched_answer_asks_again_then_fails() -> None:
    config = {"question": "Tea or coffee?", "answer_type": "options", "options": ["Tea", "Coffee"]}
    session = Session(question_doc({**config, "allow_other": False, "max_answers": 2}))
    await session.start({"q": "x"})
    again = interrupt_of(await session.answer("water"))
    kinds = [(m["type"], m["content"] if m["type"] == "answer" else m["id"]) for m in again.data["messages"]]
    assert kinds == [("question", "ask_0"), ("answer", "water"), ("question", "ask_2")]
    events = await session.answer("Coffee")
    assert events[-1].outputs == {"answer": "Coffee", "id": "B", "picked": "Coffee"}  # type: ignore[union-attr]

    session = Session(question_doc({**config, "allow_other": False, "max_answers": 2}))
    await session.start({"q": "x"})
    await session.answer("water")
    failed = await session.answer("juice")
    assert isinstance(failed[-1], RunFailed)
    assert "no answer matched an option in 2 answers" in failed[-1].error


async def test_dynamic_options_come_from_the_options_input() -> None:
    ask = node(
        "ask", "question", {"options": ref("start", "opts")}, config={"question": "Pick", "answer_type": "options"}
    )
    doc = make_doc(
        [ask, node("end", "end", {"picked": ref("ask", "option_content")})],
        chain("start", "ask", "end"),
        inputs=[{"name": "opts", "type": "array[string]"}],
    )
    session = Session(doc)
    paused = interrupt_of(await session.start({"opts": ["red", "blue"]}))
    assert [o["name"] for o in paused.data["messages"][0]["content"]["options"]] == ["red", "blue"]
    assert (await session.answer("B"))[-1].outputs == {"picked": "blue"}  # type: ignore[union-attr]


def input_doc(**config: Any) -> WorkflowDoc:
    fields = [
        {"name": "name", "type": "string"},
        {"name": "age", "type": "integer"},
        {"name": "tags", "type": "array[string]", "required": False, "default": []},
    ]
    form = node(
        "form", "input", {"who": ref("start", "q")}, config={"fields": fields, "prompt": "About {{ who }}", **config}
    )
    end = node("end", "end", {"name": ref("form", "name"), "age": ref("form", "age"), "tags": ref("form", "tags")})
    return make_doc([form, end], chain("start", "form", "end"))


async def test_input_waits_for_typed_fields_and_checks_them_on_resume() -> None:
    session = Session(input_doc())
    paused = interrupt_of(await session.start({"q": "you"}))
    assert paused.kind == "input"
    assert paused.data["content_type"] == "form_schema" and paused.data["prompt"] == "About you"
    assert '"name": "age", "type": "integer"' in paused.data["content"]

    again = interrupt_of(await session.answer({"name": "Ada", "age": "old", "colour": "red"}))
    assert again.data["errors"] == ["'age' should be integer, got string", "'colour' is not a field of this form"]

    events = await session.answer('{"name": "Ada", "age": "36"}')  # JSON text, as a Coze client sends it
    assert events[-1].outputs == {"name": "Ada", "age": 36, "tags": []}  # type: ignore[union-attr]


async def test_input_fails_after_its_attempts() -> None:
    session = Session(input_doc(attempts=2))
    await session.start({"q": "you"})
    await session.answer("not json")
    failed = await session.answer({"age": 3})
    assert isinstance(failed[-1], RunFailed)
    assert "not valid after 2 answers: 'name' (string) is required" in failed[-1].error


async def test_a_question_inside_a_loop_is_asked_per_iteration() -> None:
    ask = node("ask", "question", {"item": ref("loop", "item")}, config={"question": "Rate {{ item }}"})
    loop = node(
        "loop",
        "loop",
        {"items": ref("start", "items")},
        config={"collect": {"rates": {"node": "ask", "output": "answer"}}},
        body={"nodes": [ask], "edges": [{"source": "loop", "target": "ask", "source_handle": "body"}]},
    )
    doc = make_doc(
        [loop, node("end", "end", {"rates": ref("loop", "rates")})],
        chain("start", "loop", "end"),
        inputs=[{"name": "items", "type": "array[string]"}],
    )
    session = Session(doc)
    first = interrupt_of(await session.start({"items": ["tea", "cake"]}))
    assert first.data["messages"][0]["content"] == "Rate tea" and first.path == ("loop",)
    second = interrupt_of(await session.answer("5"))
    assert second.data["messages"][0]["content"] == "Rate cake"
    assert (await session.answer("3"))[-1].outputs == {"rates": ["5", "3"]}  # type: ignore[union-attr]
