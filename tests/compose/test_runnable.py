"""Lambda fills in the four modes from whatever it is given; components become nodes as they are."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any

import pytest

from plait.components import Retriever
from plait.compose import END, START, Chain, Graph, GraphSetupError, Lambda
from plait.models import ScriptedChatModel
from plait.schema import Document, Message, StreamReader


def invoke_fn(x: str) -> str:
    return x.upper()


async def async_invoke_fn(x: str) -> str:
    return x.upper()


def sync_stream_fn(x: str) -> Iterator[str]:
    yield from x.upper()


async def stream_fn(x: str) -> AsyncIterator[str]:
    for c in x.upper():
        yield c


async def collect_fn(s: StreamReader[str]) -> str:
    return "".join([c.upper() async for c in s])


async def transform_fn(s: StreamReader[str]) -> AsyncIterator[str]:
    async for c in s:
        yield c.upper()


@pytest.mark.parametrize("fn", [invoke_fn, async_invoke_fn, sync_stream_fn, stream_fn, collect_fn, transform_fn])
async def test_every_kind_of_callable_runs_in_all_four_modes(fn: Any) -> None:
    node: Lambda[str, str] = Lambda(fn)
    assert await node.ainvoke("ab") == "AB"
    assert "".join(await node.astream("ab").collect()) == "AB"
    assert await node.acollect(StreamReader.from_iterable(["a", "b"])) == "AB"
    assert "".join(await node.atransform(StreamReader.from_iterable(["a", "b"])).collect()) == "AB"


def test_lambda_reads_types_from_annotations() -> None:
    assert (Lambda(invoke_fn).input_type, Lambda(invoke_fn).output_type) == (str, str)
    assert Lambda(stream_fn).output_type is str
    assert Lambda(collect_fn).input_type is str


def test_lambda_needs_something_callable() -> None:
    with pytest.raises(GraphSetupError, match="at least one"):
        Lambda()
    with pytest.raises(GraphSetupError, match="not callable"):
        Lambda(stream=42)  # type: ignore[arg-type]


async def test_callable_object_with_async_call_is_awaited() -> None:
    class Doubler:
        async def __call__(self, x: int) -> int:
            return x * 2

    assert await Lambda(Doubler()).ainvoke(4) == 8


def test_sync_stream_wrapper_yields_chunks() -> None:
    assert list(Lambda(stream_fn).stream("ab")) == ["A", "B"]


class KeywordRetriever:
    def __init__(self, docs: Sequence[str]) -> None:
        self.docs = [Document(id=str(i), content=d) for i, d in enumerate(docs)]

    async def retrieve(self, query: str, **options: Any) -> list[Document]:
        return [d for d in self.docs if query.lower() in d.content.lower()]


def to_messages(docs: list[Document]) -> list[Message]:
    context = "\n".join(d.content for d in docs)
    return [Message.system("Answer from the context."), Message.user(context)]


async def test_components_are_nodes_retriever_then_chat_model() -> None:
    retriever = KeywordRetriever(["Tides follow the moon", "Bread needs yeast"])
    assert isinstance(retriever, Retriever)
    chain: Chain[str, Message] = Chain().then(retriever).then(to_messages).then(ScriptedChatModel.echo())
    compiled = chain.compile()
    answer = await compiled.ainvoke("moon")
    assert answer.text == "Tides follow the moon"
    chunks = await compiled.astream("moon").collect()
    assert [c.text for c in chunks if c.text] == ["Tides", " follow", " the", " moon"]


def test_a_chat_model_cannot_take_a_string_edge() -> None:
    def text(x: str) -> str:
        return x

    graph: Graph[str, Message] = Graph()
    graph.add_node("text", text).add_node("model", ScriptedChatModel.echo())
    graph.add_edge(START, "text").add_edge("text", "model").add_edge("model", END)
    with pytest.raises(GraphSetupError, match="text outputs str, model takes"):
        graph.compile()


async def test_prompt_template_protocol_component() -> None:
    class Greeting:
        async def format(self, variables: Mapping[str, Any]) -> list[Message]:
            return [Message.user(f"Hello {variables['name']}")]

    chain: Chain[dict[str, str], Message] = Chain().then(Greeting()).then(ScriptedChatModel.echo())
    assert (await chain.compile().ainvoke({"name": "Ada"})).text == "Hello Ada"
