"""The durable checkpointer: a run's state is saved in its ``workflow_runs`` row, and each finished node as a
``workflow_node_runs`` row, in one short transaction per node. A run resumed after a pause or a crash loads
the state and never runs a finished node again."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

from plait.platform.workflows.records import INTERRUPT_TYPES
from plait.store import Database, new_id
from plait.store.base import now
from plait.store.tables import WorkflowNodeRun
from plait.workflows.dsl import WorkflowDoc
from plait.workflows.state import RunState, SaveReason

INPUTS_WAIT_SECONDS = 1.0  # a node's NodeStarted is queued before it runs: the runner reads it within a loop turn
NODE_STATUS = {"succeeded": "success", "defaulted": "success", "error_branch": "fail"}


class DurableCheckpointer:
    """One run's checkpointer. The runner hands it each top-level node's inputs as its ``NodeStarted`` event
    comes (``node_started``), so the node rows keep what each node was given; the engine saves from its own task
    and may do so before the runner has read that event, so a save waits for it, briefly."""

    def __init__(
        self, database: Database, *, workspace_id: str, doc: WorkflowDoc, inputs_from_events: bool = True
    ) -> None:
        self._wait_inputs = inputs_from_events  # False: nobody follows the events (node rows keep no inputs)
        self._database = database
        self._workspace_id = workspace_id
        self._nodes = {node.id: node for node in doc.nodes}
        self._started: dict[str, Mapping[str, Any]] = {}
        self._waiting: dict[str, asyncio.Event] = {}
        self.interrupt_seq = 0  # interrupts so far: the ``<execute_id>/<n>`` of the next one

    async def save(self, state: RunState, reason: SaveReason, node_id: str | None) -> None:
        if reason in ("finished", "failed"):
            return  # the runner's last write ends the run, with its output and usage
        rows: list[WorkflowNodeRun] = []
        values: dict[str, Any] = {"state": state.to_json()}
        if reason == "node" and node_id is not None and node_id in state.nodes:
            rows.append(self._finished_row(state, node_id, await self._inputs(node_id)))
        elif reason == "interrupt" and state.interrupts:
            self.interrupt_seq += 1
            pending = state.interrupts[0]
            for item in state.interrupts:
                inputs = await self._inputs(item.node_id)
                rows.append(self._row(state.run_id, item.node_id, inputs, "interrupted", None, None, None))
            values |= {
                "status": "interrupted",
                "interrupt": {
                    "event_id": f"{state.run_id}/{self.interrupt_seq}",
                    "interrupt_id": pending.interrupt_id,
                    "node_id": pending.node_id,
                    "type": INTERRUPT_TYPES.get(pending.kind, INTERRUPT_TYPES["question"]),
                    "kind": pending.kind,
                    "data": pending.data,
                },
            }
        async with self._database.unit_of_work() as uow:
            if rows:
                await uow.workflow_node_runs.insert_new(rows)
            await uow.workflow_runs.move(state.run_id, ("running",), **values)

    async def load(self, run_id: str) -> RunState | None:
        async with self._database.unit_of_work() as uow:
            row = await uow.workflow_runs.get(self._workspace_id, run_id)
        if row is None or row.state is None:
            return None
        state = RunState.from_json(row.state)
        self.interrupt_seq = max(_seq(row.interrupt), _events_so_far(state))
        return state

    def node_started(self, node_id: str, inputs: Mapping[str, Any]) -> None:
        self._started[node_id] = inputs
        waiting = self._waiting.pop(node_id, None)
        if waiting is not None:
            waiting.set()

    async def _inputs(self, node_id: str) -> Mapping[str, Any]:
        if self._wait_inputs and node_id not in self._started:
            waiting = self._waiting.setdefault(node_id, asyncio.Event())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiting.wait(), INPUTS_WAIT_SECONDS)
        return self._started.get(node_id, {})

    def _finished_row(self, state: RunState, node_id: str, inputs: Mapping[str, Any]) -> WorkflowNodeRun:
        record = state.nodes[node_id]
        status = NODE_STATUS.get(record.status, "success")
        duration = round(record.duration * 1000)
        return self._row(state.run_id, node_id, inputs, status, record.outputs, record.error, duration)

    def _row(
        self,
        run_id: str,
        node_id: str,
        inputs: Mapping[str, Any],
        status: str,
        outputs: Any,
        error: str | None,
        duration_ms: int | None,
    ) -> WorkflowNodeRun:
        node = self._nodes.get(node_id)
        stamp = now()
        return WorkflowNodeRun(
            id=new_id(),
            workspace_id=self._workspace_id,
            run_id=run_id,
            node_id=node_id,
            node_type=node.type if node else "",
            node_title=(node.title or node.id) if node else node_id,
            status=status,
            inputs=dict(inputs),
            outputs=outputs,
            error=error,
            duration_ms=duration_ms,
            created_at=stamp,
            updated_at=stamp,
        )


def _events_so_far(state: RunState) -> int:
    """The interrupt events a run has shown: one per answer it was given, and the one it waits on. (A resume
    clears the row's pending interrupt, so its number alone would start the next pause at 1 again, and an
    answer to an old event would answer the new one.)"""
    return sum(len(answers) for answers in state.answers.values()) + (1 if state.interrupts else 0)


def _seq(interrupt: dict[str, Any] | None) -> int:
    """The number in a saved interrupt's event id (``<execute_id>/<n>``)."""
    event_id = str((interrupt or {}).get("event_id", ""))
    tail = event_id.rpartition("/")[2]
    return int(tail) if tail.isdigit() else 0
