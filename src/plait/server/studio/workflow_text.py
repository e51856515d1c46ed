"""A workflow file as its author types it in the studio: YAML or JSON text (YAML reads both) to a document, the
line each node starts on (so a problem pinned to a node also points into the text), and a document back to
YAML. Comments do not survive a save: the platform stores the document, not the text."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from plait.platform import InvalidParams

MAX_TEXT = 1_000_000  # characters of a workflow file


@dataclass(slots=True)
class ParsedText:
    data: Any = None
    syntax_error: str | None = None
    error_line: int | None = None  # 1-based, with the syntax error
    node_lines: dict[str, int] = field(default_factory=dict)  # node id -> the 1-based line it starts on


def parse_text(text: str) -> ParsedText:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return ParsedText(syntax_error=str(exc), error_line=mark.line + 1 if mark is not None else None)
    return ParsedText(data=data, node_lines=_node_lines(root))


def document_of(text: str) -> dict[str, Any]:
    """The document in ``text``, or 4000 naming the syntax error (its problems are the platform's to name)."""
    parsed = parse_text(text)
    if parsed.syntax_error is not None:
        raise InvalidParams(f"text: not YAML or JSON (line {parsed.error_line}): {parsed.syntax_error}")
    if not isinstance(parsed.data, dict):
        raise InvalidParams("text: a workflow file is a mapping (name, inputs, nodes, edges...)")
    return parsed.data


def to_yaml(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def _node_lines(root: yaml.Node | None, lines: dict[str, int] | None = None) -> dict[str, int]:
    """Walk ``nodes`` (and each container's ``body.nodes``) for each node's ``id`` and where its mapping starts."""
    found = {} if lines is None else lines
    nodes = _value(root, "nodes")
    if isinstance(nodes, yaml.SequenceNode):
        for item in nodes.value:
            node_id = _value(item, "id")
            if isinstance(node_id, yaml.ScalarNode):
                found.setdefault(str(node_id.value), item.start_mark.line + 1)
            _node_lines(_value(item, "body"), found)
    return found


def _value(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((value for name, value in node.value if getattr(name, "value", None) == key), None)
