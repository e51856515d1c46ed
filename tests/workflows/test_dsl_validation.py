"""The workflow document: its JSON Schema, its shorthand, and validation reporting every problem at once."""

from __future__ import annotations

from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
from wf_helpers import chain, make_doc, node, ref

from plait.workflows import WorkflowDoc, WorkflowInvalid, compile_workflow, parse_doc, validate
from plait.workflows.schema import render, shipped


def codes(doc: WorkflowDoc) -> set[tuple[str, str | None, str | None]]:
    return {(p.code, p.node_id, p.field) for p in validate(doc)}


def test_the_shipped_schema_is_generated_from_the_models() -> None:
    assert shipped() == __import__("json").loads(render()), "run: python -m plait.workflows.schema"


def test_documents_round_trip_and_match_the_schema() -> None:
    doc = make_doc(
        [
            node(
                "t",
                "text",
                {"text": ref("start", "q"), "n": 3, "v": {"value": {"ref": "literal"}}},
                config={"op": "upper"},
            ),
            node("end", "end", {"r": ref("t", "output")}),
        ],
        chain("start", "t", "end"),
    )
    data = doc.to_json()
    jsonschema.validate(data, shipped())
    assert data["nodes"][1]["inputs"] == {"text": ref("start", "q"), "n": 3, "v": {"value": {"ref": "literal"}}}
    assert WorkflowDoc.model_validate(data) == doc
    assert doc.node("t").inputs["v"].value == {"ref": "literal"} and doc.node("t").inputs["n"].value == 3


def test_a_valid_document_has_no_problems() -> None:
    doc = make_doc([node("end", "end", {"q": ref("start", "q")})], chain("start", "end"), outputs=[{"name": "q"}])
    assert validate(doc) == []


def test_every_problem_is_reported_at_once_with_node_and_field() -> None:
    doc = make_doc(
        [
            node("mystery", "no_such_type"),
            node("bad_config", "text", {"text": "x"}, config={"op": "shout"}),
            node("dangling", "text", {"text": ref("ghost", "out")}, config={"op": "upper"}),
            node("wrong_output", "text", {"text": ref("start", "nope")}, config={"op": "upper"}),
            node("mismatch", "json_parse", {"text": ref("counter", "variables")}),
            node("counter", "variable_assign", {"n": 1}),
            node("loop_a", "text", {"text": "a"}, config={"op": "upper"}),
            node("loop_b", "text", {"text": "b"}, config={"op": "upper"}),
            node("island", "text", {"text": "i"}, config={"op": "upper"}),
            node("later", "text", {"text": ref("end_reader", "output")}, config={"op": "upper"}),
            node("end_reader", "text", {"text": "x"}, config={"op": "upper"}),
            node("no_var", "text", {"text": ref("$vars", "missing")}, config={"op": "upper"}),
            node("cond", "condition", {"n": 1}, config={"cases": [{"conditions": [{"left": "m", "op": "=="}]}]}),
            node("end", "end"),
        ],
        [
            *chain("start", "mystery", "bad_config", "dangling", "wrong_output", "counter", "mismatch", "end"),
            *chain("start", "loop_a", "loop_b", "loop_a"),
            *chain("start", "later", "end"),
            *chain("start", "end_reader", "end"),
            *chain("start", "no_var", "end"),
            *chain("start", "cond"),
            {"source": "cond", "target": "end", "source_handle": "maybe"},
            {"source": "end", "target": "nowhere"},
        ],
        outputs=[{"name": "missing_out"}],
    )
    found = codes(doc)
    expected = {
        ("unknown_type", "mystery", "type"),
        ("invalid_config", "bad_config", "config.op"),
        ("dangling_reference", "dangling", "inputs.text"),
        ("dangling_reference", "wrong_output", "inputs.text"),
        ("type_mismatch", "mismatch", "inputs.text"),
        ("cycle", "loop_a", None),
        ("unreachable", "island", None),
        ("dangling_reference", "later", "inputs.text"),
        ("dangling_reference", "no_var", "inputs.text"),
        ("invalid_node", "cond", "config.cases[0].conditions[0]"),
        ("bad_handle", "cond", "edges[17]"),
        ("dangling_edge", "end", "edges[18]"),
        ("missing_output", "end", None),
    }
    assert expected <= found, expected - found
    with pytest.raises(WorkflowInvalid) as caught:
        compile_workflow(doc)
    assert len(caught.value.problems) == len(validate(doc)) >= len(expected)
    assert "mystery.type: unknown node type 'no_such_type'" in str(caught.value)


def test_start_and_end_must_each_appear_once() -> None:
    doc = WorkflowDoc.model_validate({"name": "x", "nodes": [{"id": "a", "type": "end"}, {"id": "b", "type": "end"}]})
    found = codes(doc)
    assert ("missing_start", None, None) in found and ("extra_end", "b", "type") in found


def test_an_error_edge_needs_the_branch_policy() -> None:
    doc = make_doc(
        [node("t", "text", {"text": "x"}, config={"op": "upper"}), node("end", "end")],
        [*chain("start", "t", "end"), {"source": "t", "target": "end", "source_handle": "error"}],
    )
    assert ("bad_handle", "t", "edges[2]") in codes(doc)


def test_missing_required_inputs_and_template_variables() -> None:
    doc = make_doc(
        [
            node("k", "knowledge_retrieval", config={"dataset_ids": ["d"]}),
            node("llm", "llm", {"a": 1}, config={"model": "scripted/echo", "prompt": "{{ a }} {{ b }}"}),
            node("end", "end"),
        ],
        chain("start", "k", "llm", "end"),
    )
    found = codes(doc)
    assert ("missing_input", "k", "inputs.query") in found
    assert ("invalid_node", "llm", "config.prompt") in found


def test_a_cycle_through_a_container_is_its_loop_but_one_inside_the_body_is_not() -> None:
    body: dict[str, Any] = {
        "nodes": [
            node("x", "text", {"text": "x"}, config={"op": "upper"}),
            node("y", "text", {"text": "y"}, config={"op": "upper"}),
        ],
        "edges": [{"source": "loop", "target": "x", "source_handle": "body"}, *chain("x", "y", "loop")],
    }
    from test_engine import Repeat  # registers test_repeat  # noqa: F401

    ok = make_doc(
        [node("loop", "test_repeat", {"items": [1]}, body=body), node("end", "end")], chain("start", "loop", "end")
    )
    assert validate(ok) == []
    body["edges"].append({"source": "y", "target": "x"})
    looped = make_doc(
        [node("loop", "test_repeat", {"items": [1]}, body=body), node("end", "end")], chain("start", "loop", "end")
    )
    assert {p.code for p in validate(looped)} == {"cycle"}
    flat = make_doc(
        [node("loop", "text", {"text": "a"}, config={"op": "upper"}, body=body), node("end", "end")],
        chain("start", "loop", "end"),
    )
    assert ("unexpected_body", "loop", "body") in codes(flat)


def test_shape_errors_name_the_node() -> None:
    with pytest.raises(WorkflowInvalid) as caught:
        parse_doc(
            {"name": "x", "nodes": [{"id": "ok", "type": "start"}, {"id": "bad id!", "type": "end", "colour": 1}]}
        )
    problems = {(p.node_id, p.field) for p in caught.value.problems}
    assert ("bad id!", "id") in problems and ("bad id!", "colour") in problems


def test_the_complete_example_of_the_docs_is_valid() -> None:
    import re
    from pathlib import Path

    import yaml

    text = (Path(__file__).resolve().parents[2] / "docs" / "workflows.md").read_text()
    example = yaml.safe_load(re.findall(r"```yaml\n(.*?)```", text, re.S)[0])
    jsonschema.validate(example, shipped())
    assert validate(parse_doc(example)) == []
