"""Which cached records a transaction changed, told when it commits: an API key, a workspace member, a bot, a
workspace's model providers. The platform's caches forget them (`plait.platform.caches`), and with Redis every
process's caches do. Read off the session (the rows it flushed, and the workspace-scoped bulk deletes), so no
use case has to remember to say what it changed; a transaction rolled back tells nothing.

A change is ``(topic, key)``: ``("api_key", key_id)``, ``("member", "<workspace_id> <user_id>")``,
``("bot", "<workspace_id> <bot_id>")``, ``("providers", workspace_id)``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BinaryExpression, BindParameter, ColumnElement

from plait.store.tables import ApiKey, Bot, ModelConfig, WorkspaceMember

log = logging.getLogger(__name__)
Change = tuple[str, str]
Listener = Callable[[list[Change]], None]

# What a change of a row of each kind is called, from the row's columns.
_TOPICS: dict[type[Any], Callable[[Callable[[str], object]], Change]] = {
    ApiKey: lambda col: ("api_key", str(col("id"))),
    WorkspaceMember: lambda col: ("member", f"{col('workspace_id')} {col('user_id')}"),
    Bot: lambda col: ("bot", f"{col('workspace_id')} {col('id')}"),
    ModelConfig: lambda col: ("providers", str(col("workspace_id"))),
}
_PENDING = "plait_changes"  # the session's changes not yet committed, in ``session.info``
_listeners: list[Listener] = []


def listen(listener: Listener) -> None:
    """Call ``listener`` with the changes of each commit that made any, in the committing task."""
    _listeners.append(listener)


def _pending(session: Session) -> set[Change]:
    found: set[Change] = session.info.setdefault(_PENDING, set())
    return found


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, _flush: UOWTransaction) -> None:
    for row in (*session.new, *session.dirty, *session.deleted):
        topic = _TOPICS.get(type(row))
        if topic is not None:
            _pending(session).add(topic(partial(getattr, row)))


@event.listens_for(Session, "do_orm_execute")
def _bulk_deleted(state: ORMExecuteState) -> None:
    """``DELETE ... WHERE workspace_id = :w AND id = :i`` of a cached kind (a scoped repository's delete)."""
    if not state.is_delete:  # every SELECT passes here: leave at once
        return
    mapper = state.bind_mapper
    topic = _TOPICS.get(mapper.class_) if mapper is not None else None
    where = getattr(state.statement, "whereclause", None)
    if topic is None or where is None:
        return
    values = _equalities(where)
    if "workspace_id" in values:
        _pending(state.session).add(topic(lambda name: values.get(name, "")))


def _equalities(where: ColumnElement[Any]) -> dict[str, object]:
    """``column = value`` terms of a WHERE clause, by column name."""
    found: dict[str, object] = {}
    for clause in visitors.iterate(where):
        if isinstance(clause, BinaryExpression) and isinstance(clause.right, BindParameter):
            name = getattr(clause.left, "name", None)
            if name is not None and clause.operator.__name__ == "eq":
                found[name] = clause.right.value
    return found


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    changes = session.info.pop(_PENDING, None)
    for listener in _listeners if changes else ():
        try:
            listener(sorted(changes))
        except Exception:  # the commit is done: a cache told late must not fail the request that made it
            log.exception("a listener of committed changes failed")


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)
