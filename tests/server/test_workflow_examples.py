"""The workflows shipped in examples/workflows, imported with ``plait workflows import`` and run through cozepy
on the scripted model, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cozepy import Coze, CozeAPIError, WorkflowEventType, WorkflowExecuteStatus
from server_harness import Running, ingested_dataset, run_cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "workflows"


@pytest.fixture(scope="module")
def imported(server: Running, space_id: str) -> Callable[[str], str]:
    """Each example imported once per server with the CLI, as an admin does (``plait workflows import FILE
    --workspace W --publish``, against the server's data dir and database), which prints the id last."""
    ids: dict[str, str] = {}

    def workflow(name: str) -> str:
        if name not in ids:
            printed = run_cli(
                server.env, "workflows", "import", str(EXAMPLES / name), "--workspace", space_id, "--publish"
            )
            ids[name] = printed.strip().splitlines()[-1]
            assert ids[name].isdigit(), printed
        return ids[name]

    return workflow


def _outputs(coze: Coze, workflow_id: str, parameters: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        coze.workflows.runs.create(workflow_id=workflow_id, parameters=parameters).data or ""
    )
    return data


def test_rag_qa_answers_from_the_handbook(imported: Callable[[str], str], coze: Coze, space_id: str) -> None:
    ingested_dataset(coze, space_id, "handbook", "Refunds are paid within 14 days of the return.")
    workflow_id = imported("rag_qa.yaml")
    answer = _outputs(coze, workflow_id, {"question": "How long do refunds take?"})["answer"]
    assert "Refunds are paid within 14 days" in answer and "How long do refunds take?" in answer


@pytest.mark.parametrize(("text", "label", "said"), [("1", "question", "Answer"), ("2", "complaint", "Apologise")])
def test_classify_route_takes_the_branch_of_the_intent(
    imported: Callable[[str], str], coze: Coze, text: str, label: str, said: str
) -> None:
    workflow_id = imported("classify_route.yaml")
    outputs = _outputs(coze, workflow_id, {"text": text})
    assert outputs["label"] == label and outputs["reply"].startswith(said)


def test_classify_route_streams_its_result(imported: Callable[[str], str], coze: Coze) -> None:
    workflow_id = imported("classify_route.yaml")
    events = list(coze.workflows.runs.stream(workflow_id=workflow_id, parameters={"text": "3"}))
    assert events[-1].event == WorkflowEventType.MESSAGE and events[-1].message is not None
    assert json.loads(events[-1].message.content)["label"] == "order"


def test_batch_summary_summarises_every_text_in_order(imported: Callable[[str], str], coze: Coze) -> None:
    texts = [f"text number {index}" for index in range(6)]
    summaries = _outputs(coze, imported("batch_summary.yaml"), {"texts": texts})["summaries"]
    assert len(summaries) == 6 and all(text in summary for text, summary in zip(texts, summaries, strict=True))


def test_approval_pauses_on_the_question_and_resumes_with_the_answer(
    imported: Callable[[str], str], coze: Coze
) -> None:
    workflow_id = imported("approval.yaml")
    events = list(coze.workflows.runs.stream(workflow_id=workflow_id, parameters={"request": "a new laptop"}))
    assert [event.event for event in events] == [WorkflowEventType.INTERRUPT]
    interrupt = events[0].interrupt
    assert interrupt is not None and interrupt.node_title == "Approve?" and interrupt.interrupt_data.type == 2
    execute_id = interrupt.interrupt_data.event_id.split("/")[0]
    paused = coze.workflows.runs.run_histories.retrieve(workflow_id=workflow_id, execute_id=execute_id)
    assert paused.execute_status == WorkflowExecuteStatus.RUNNING
    resumed = list(
        coze.workflows.runs.resume(
            workflow_id=workflow_id, event_id=interrupt.interrupt_data.event_id, resume_data="yes", interrupt_type=2
        )
    )
    assert [event.event for event in resumed] == [WorkflowEventType.MESSAGE]
    assert resumed[0].message is not None and json.loads(resumed[0].message.content)["decision"] == "yes"
    done = coze.workflows.runs.run_histories.retrieve(workflow_id=workflow_id, execute_id=execute_id)
    assert done.execute_status == WorkflowExecuteStatus.SUCCESS and json.loads(done.output)["decision"] == "yes"
    nodes = done.node_execute_status or {}
    assert set(nodes) == {"start", "ask", "end"} and all(node.is_finish for node in nodes.values())
    with pytest.raises(CozeAPIError) as again:  # the event was answered: the run has finished
        list(
            coze.workflows.runs.resume(
                workflow_id=workflow_id, event_id=interrupt.interrupt_data.event_id, resume_data="no", interrupt_type=2
            )
        )
    assert again.value.code == 4000 and "finished" in (again.value.msg or "")
