"""Each core node type, run in a workflow with the scripted model and real tools."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from wf_helpers import chain, collect, make_doc, node, ref, services

from plait.knowledge.index.bm25 import BM25Index
from plait.knowledge.retrievers import KeywordRetriever
from plait.schema import Document
from plait.tools.calculator import Calculator
from plait.tools.net_guard import NetGuard
from plait.workflows import MessageOut, NodeFailed, NodeFinished, RunFailed, RunFinished
from plait.workflows.nodes.condition import compare
from plait.workflows.nodes.knowledge_retrieval import DatasetSearch, RetrieverDatasets
from plait.workflows.nodes.tool import MappingTools


async def run_one(type_: str, inputs: dict[str, Any], config: dict[str, Any], **options: Any) -> Any:
    """start -> the node -> end; the node's NodeFinished, or its NodeFailed."""
    doc = make_doc(
        [node("n", type_, inputs, config=config, **options.pop("node", {})), node("end", "end")],
        chain("start", "n", "end"),
        inputs=[{"name": "q", "type": "any", "required": False}],
        variables=options.pop("variables", ()),
    )
    events = await collect(doc, options.pop("run_inputs", {}), **options)
    return next(e for e in events if isinstance(e, NodeFinished | NodeFailed) and e.node_id == "n")


async def test_start_outputs_the_inputs_and_end_returns_variables_or_an_answer() -> None:
    doc = make_doc(
        [
            node(
                "end",
                "end",
                {"who": ref("start", "q"), "n": ref("start", "n")},
                config={"mode": "answer", "template": "hi {{ who }} x{{ n }}"},
            )
        ],
        chain("start", "end"),
        inputs=[{"name": "q", "type": "string"}, {"name": "n", "type": "integer", "required": False, "default": 2}],
    )
    events = await collect(doc, {"q": "Ada"})
    assert next(e for e in events if isinstance(e, NodeFinished)).outputs == {"q": "Ada", "n": 2}
    assert [e.content for e in events if isinstance(e, MessageOut)] == ["hi Ada x2"]
    assert events[-1].answer == "hi Ada x2" and events[-1].outputs["who"] == "Ada"


async def test_llm_text_renders_the_prompt_for_the_model() -> None:
    done = await run_one(
        "llm", {"x": "moon"}, {"model": "scripted/echo", "system": "be brief", "prompt": "about {{ x }}"}
    )
    assert done.outputs == {"text": "about moon"}


async def test_llm_json_output_is_parsed_checked_and_spread_into_outputs() -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "n": {"type": "integer"}},
        "required": ["city"],
    }
    config = {"model": "scripted/echo", "prompt": "{{ j }}", "output": "json", "schema": schema}
    done = await run_one("llm", {"j": '```json\n{"city": "Lyon", "n": 3}\n```'}, config)
    assert done.outputs == {"city": "Lyon", "n": 3, "output": {"city": "Lyon", "n": 3}}
    failed = await run_one("llm", {"j": '{"n": "three"}'}, config)
    assert isinstance(failed, NodeFailed) and "does not match the schema" in failed.error
    not_json = await run_one("llm", {"j": "sorry, no"}, config)
    assert isinstance(not_json, NodeFailed) and "is not JSON" in not_json.error


async def test_llm_without_a_model_registry_fails_clearly() -> None:
    from plait.workflows import Services

    failed = await run_one("llm", {}, {"model": "scripted/echo", "prompt": "x"}, services=Services())
    assert isinstance(failed, NodeFailed) and failed.error_type == "ServiceMissing" and "model registry" in failed.error


@pytest.mark.parametrize(
    ("left", "op", "right", "holds"),
    [
        (3, "==", 3.0, True), ("a", "!=", "b", True), (2, "<", 3, True), (3, "<=", 3, True), ("b", ">", "a", True),
        (1, ">=", 2, False), ("hello", "contains", "ell", True), ([1, 2], "not_contains", 3, True),
        ("hello", "starts_with", "he", True), ("hello", "ends_with", "lo", True), ("", "empty", None, True),
        ([], "empty", None, True), ({"a": 1}, "not_empty", None, True), ("x", "in", ["x", "y"], True),
        (5, "not_in", [1, 2], True), (None, "empty", None, True),
    ],
)  # fmt: skip
def test_typed_comparisons(left: Any, op: str, right: Any, holds: bool) -> None:
    assert compare(left, op, right) is holds


@pytest.mark.parametrize(
    ("left", "op", "right"), [("3", "<", 4), (1, "==", "1"), (3, "contains", 1), (1, "starts_with", "1")]
)
def test_comparisons_of_mismatched_types_are_errors(left: Any, op: str, right: Any) -> None:
    with pytest.raises(TypeError):
        compare(left, op, right)


async def test_condition_and_or_groups_and_a_typed_error() -> None:
    config = {
        "cases": [
            {
                "id": "both",
                "logic": "and",
                "conditions": [{"left": "a", "op": ">", "right": 1}, {"left": "b", "op": "==", "right": "x"}],
            },
            {
                "id": "either",
                "logic": "or",
                "conditions": [{"left": "a", "op": ">", "right": 10}, {"left": "b", "op": "==", "right_input": "c"}],
            },
        ]
    }
    assert (await run_one("condition", {"a": 2, "b": "x", "c": "z"}, config)).branch == "both"
    assert (await run_one("condition", {"a": 0, "b": "z", "c": "z"}, config)).branch == "either"
    assert (await run_one("condition", {"a": 0, "b": "y", "c": "z"}, config)).branch == "else"
    failed = await run_one("condition", {"a": "two", "b": "x", "c": "z"}, config)
    assert isinstance(failed, NodeFailed) and "needs two numbers or two strings" in failed.error


async def test_code_runs_main_in_the_sandbox_and_checks_declared_outputs() -> None:
    code = "def main(a, b):\n    print('working')\n    return {'sum': a + b, 'text': f'{a}+{b}'}\n"
    done = await run_one(
        "code", {"a": 2, "b": 3}, {"code": code}, node={"outputs": [{"name": "sum", "type": "integer"}]}
    )
    assert done.outputs == {"sum": 5, "text": "2+3", "logs": "working\n"}
    wrong = await run_one(
        "code", {"a": 2, "b": 3}, {"code": code}, node={"outputs": [{"name": "sum", "type": "string"}]}
    )
    assert isinstance(wrong, NodeFailed) and wrong.error == "output 'sum' should be string, got integer"
    boom = await run_one("code", {}, {"code": "def main():\n    raise ValueError('nope')\n"})
    assert isinstance(boom, NodeFailed) and "ValueError: nope" in boom.error


class _Echo(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        reply = json.dumps({"path": self.path, "got": json.loads(body), "token": self.headers.get("x-token")}).encode()
        self.send_response(201 if self.path.startswith("/ok") else 500)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def local_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


async def test_http_request_renders_and_sends_through_the_guard(local_server: str) -> None:
    config = {
        "method": "POST",
        "url": local_server + "/ok/{{ id }}",
        "headers": {"x-token": "{{ token }}"},
        "query": {"q": "{{ id }}"},
        "body_type": "json",
        "body": '{"name": {{ name | tojson }}}',
    }
    inputs = {"id": 7, "token": "t0k", "name": 'A "quoted" name'}
    opened = services({NetGuard: NetGuard(allowed_networks=["127.0.0.1/32"])})
    done = await run_one("http_request", inputs, config, services=opened)
    assert done.outputs["status_code"] == 201
    assert done.outputs["body"] == {"path": "/ok/7?q=7", "got": {"name": 'A "quoted" name'}, "token": "t0k"}
    blocked = await run_one("http_request", inputs, config)
    assert isinstance(blocked, NodeFailed) and blocked.error_type == "BlockedAddress"
    failing = await run_one("http_request", inputs, {**config, "url": local_server + "/bad"}, services=opened)
    assert isinstance(failing, NodeFailed) and "answered 500" in failing.error


async def test_tool_calls_a_tool_by_name() -> None:
    tools = MappingTools([Calculator()])
    name = Calculator().spec.name
    done = await run_one("tool", {"expression": "6 * 7"}, {"tool": name}, services=services(tools=tools))
    assert done.outputs["output"] in (42, {"result": 42}) or "42" in json.dumps(done.outputs["output"])
    missing = await run_one("tool", {}, {"tool": "nope"}, services=services(tools=tools))
    assert isinstance(missing, NodeFailed) and "no tool named 'nope'" in missing.error


async def test_knowledge_retrieval_searches_datasets_or_fails_without_them() -> None:
    index = BM25Index()
    index.add([Document(id="1", content="Lyon is a city in France"), Document(id="2", content="Tides follow the moon")])
    datasets = RetrieverDatasets({"geo": KeywordRetriever(index)})
    done = await run_one(
        "knowledge_retrieval",
        {"query": "city France"},
        {"dataset_ids": ["geo"], "top_k": 1},
        services=services({DatasetSearch: datasets}),
    )
    assert [d["content"] for d in done.outputs["documents"]] == ["Lyon is a city in France"]
    assert done.outputs["text"] == "Lyon is a city in France"
    missing = await run_one("knowledge_retrieval", {"query": "x"}, {"dataset_ids": ["geo"]})
    assert isinstance(missing, NodeFailed) and missing.error_type == "ServiceMissing"
    assert "not available in a local run" in missing.error


async def test_variable_assign_and_aggregate() -> None:
    variables = [{"name": "items", "type": "array", "default": []}, {"name": "total", "type": "number", "default": 1}]
    done = await run_one(
        "variable_assign",
        {"items": "a", "total": 2.5},
        {"ops": {"items": "append", "total": "add"}},
        variables=variables,
    )
    assert done.outputs == {"variables": {"items": ["a"], "total": 3.5}}
    bad = await run_one("variable_assign", {"nope": 1}, {}, variables=variables)
    assert isinstance(bad, NodeFailed) and "no variable 'nope'" in bad.error
    typed = await run_one("variable_assign", {"total": "x"}, {"ops": {"total": "add"}}, variables=variables)
    assert isinstance(typed, NodeFailed) and "add needs numbers" in typed.error
    picked = await run_one(
        "variable_aggregate", {"a": None, "b": "second", "c": "third"}, {"groups": {"first": ["a", "b"], "last": ["c"]}}
    )
    assert picked.outputs == {"first": "second", "last": "third"}


@pytest.mark.parametrize(
    ("config", "inputs", "output"),
    [
        ({"op": "concat", "template": "{{ a }}-{{ b }}"}, {"a": 1, "b": "x"}, "1-x"),
        ({"op": "split", "separators": [",", ";"]}, {"text": "a,b;;c"}, ["a", "b", "c"]),
        ({"op": "replace", "pattern": "o", "replacement": "0"}, {"text": "foo"}, "f00"),
        ({"op": "replace", "pattern": r"\d+", "replacement": "#", "regex": True}, {"text": "a1b22"}, "a#b#"),
        ({"op": "regex_extract", "pattern": r"(\d+)"}, {"text": "a1b22"}, ["1", "22"]),
        ({"op": "regex_extract", "pattern": r"\d+", "all": False}, {"text": "a1b22"}, "1"),
        ({"op": "upper"}, {"text": "ab"}, "AB"),
        ({"op": "trim"}, {"text": "  ab "}, "ab"),
    ],
)
async def test_text_processing(config: dict[str, Any], inputs: dict[str, Any], output: Any) -> None:
    assert (await run_one("text", inputs, config)).outputs == {"output": output}


async def test_json_serialize_and_parse() -> None:
    text = (await run_one("json_serialize", {"value": {"b": 1, "a": [True]}}, {"sort_keys": True})).outputs["text"]
    assert text == '{"a": [true], "b": 1}'
    parsed = await run_one("json_parse", {"text": text}, {"schema": {"type": "object", "required": ["a"]}})
    assert parsed.outputs == {"value": {"a": [True], "b": 1}}
    bad = await run_one("json_parse", {"text": "[1]"}, {"schema": {"type": "object"}})
    assert isinstance(bad, NodeFailed) and "does not match the schema" in bad.error
    broken = await run_one("json_parse", {"text": "{"}, {})
    assert isinstance(broken, NodeFailed) and "not JSON" in broken.error


async def test_a_failed_node_fails_the_run_with_its_reason() -> None:
    doc = make_doc([node("n", "json_parse", {"text": "{"}), node("end", "end")], chain("start", "n", "end"))
    events = await collect(doc, {"q": "x"})
    assert isinstance(events[-1], RunFailed) and not any(isinstance(e, RunFinished) for e in events)
