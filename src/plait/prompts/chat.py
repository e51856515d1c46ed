"""ChatTemplate: a conversation written as Jinja2 templates, rendered in a sandbox from checked variables.

Everything that can be wrong with the template itself (syntax, roles, a variable the schema does not declare)
fails in the constructor, so a broken prompt is found when the app starts, not on the first request.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Self, TypeAlias, cast, get_args

from jinja2 import Template

from plait.prompts.errors import PromptError, PromptVariableError
from plait.prompts.sandbox import compile_text, render
from plait.prompts.variables import Variables
from plait.schema import ContentPart, ImagePart, Message, Role, TextPart

PartKind: TypeAlias = Literal["text", "image_url"]
Part: TypeAlias = tuple[PartKind, str]
MessageSpec: TypeAlias = "tuple[str, str | Sequence[Part]] | Message | MessagesPlaceholder"

_TEMPLATE_ROLES = ("system", "user", "assistant")  # tool messages need a call id: give them as Message objects
_DICT_KEYS = ("role", "content", "name", "tool_call_id")


@dataclass(frozen=True, slots=True)
class MessagesPlaceholder:
    """Splices the messages in variable ``name`` (the chat history, say) into the conversation.

    The messages are data and are never rendered, so text a user typed cannot inject template code. They are
    ``Message`` objects or ``{"role", "content"}`` dicts (optionally with ``name`` and ``tool_call_id``).
    """

    name: str
    optional: bool = field(default=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class _Templated:
    role: Role
    where: str
    body: Template | tuple[tuple[PartKind, Template], ...]

    def render(self, values: Mapping[str, Any]) -> Message:
        if isinstance(self.body, Template):
            return Message(role=self.role, content=render(self.body, values, self.where))
        parts: list[ContentPart] = []
        for index, (kind, template) in enumerate(self.body):
            text = render(template, values, f"{self.where}, part {index}")
            parts.append(TextPart(text=text) if kind == "text" else ImagePart(url=text))
        return Message(role=self.role, content=parts)


class ChatTemplate:
    """Renders a list of messages from variables; implements the ``PromptTemplate`` protocol, so it is a
    graph node as it is.

    ``messages`` holds ``(role, template)`` pairs (the template may also be a list of ``("text", ...)``
    and ``("image_url", ...)`` parts, for images), ``Message`` objects used verbatim, and
    ``MessagesPlaceholder`` entries.
    ``variables`` is a JSON Schema with ``"type": "object"``, or a mapping of names to property schemas
    (required unless they have a default); without it, every variable the templates read is required.
    Variables the template does not take are an error unless ``strict=False``.
    """

    def __init__(
        self,
        messages: Sequence[MessageSpec],
        *,
        variables: Mapping[str, Any] | None = None,
        strict: bool = True,
        name: str | None = None,
    ) -> None:
        self.name = name
        self._label = f"prompt {name!r}: " if name else ""
        if not messages:
            raise PromptError(f"{self._label}a chat template needs at least one message")
        self._slots: list[_Templated | Message | MessagesPlaceholder] = []
        used: dict[str, str] = {}
        histories: dict[str, bool] = {}
        for index, spec in enumerate(messages):
            if isinstance(spec, Message | MessagesPlaceholder):
                self._slots.append(spec)
                if isinstance(spec, MessagesPlaceholder):
                    histories[spec.name] = histories.get(spec.name, True) and spec.optional
                continue
            location, slot, names = self._compile(index, spec)
            self._slots.append(slot)
            for variable in sorted(names):
                used.setdefault(variable, location)
        self._variables = Variables(variables, used, histories, strict=strict, label=self._label)

    @classmethod
    def from_messages(
        cls,
        messages: Sequence[MessageSpec],
        *,
        variables: Mapping[str, Any] | None = None,
        strict: bool = True,
        name: str | None = None,
    ) -> Self:
        """The constructor, under the name other frameworks use for it."""
        return cls(messages, variables=variables, strict=strict, name=name)

    @classmethod
    def from_text(
        cls,
        user: str,
        *,
        system: str | None = None,
        variables: Mapping[str, Any] | None = None,
        strict: bool = True,
        name: str | None = None,
    ) -> Self:
        """The common case: one user template, after an optional system template."""
        messages: list[MessageSpec] = [("system", system)] if system is not None else []
        messages.append(("user", user))
        return cls(messages, variables=variables, strict=strict, name=name)

    @property
    def variables(self) -> dict[str, Any]:
        """The effective JSON Schema of the variables (a copy: the template's own cannot be changed)."""
        return copy.deepcopy(self._variables.schema)

    @property
    def input_variables(self) -> tuple[str, ...]:
        return self._variables.names

    async def format(self, variables: Mapping[str, Any]) -> list[Message]:
        return self._render(variables)

    def format_messages(self, /, **variables: Any) -> list[Message]:
        """``format`` for scripts and tests: the same rendering, called with keywords and without awaiting."""
        return self._render(variables)

    def __repr__(self) -> str:
        return f"ChatTemplate(name={self.name!r}, messages={len(self._slots)}, variables={list(self.input_variables)})"

    def _compile(self, index: int, spec: object) -> tuple[str, _Templated, frozenset[str]]:
        """One ``(role, template)`` pair compiled: its location, its slot and the variables it reads."""
        if not (isinstance(spec, tuple) and len(spec) == 2):
            raise PromptError(
                f"{self._label}messages[{index}]: expected a (role, template) pair, a Message or a "
                f"MessagesPlaceholder, got {spec!r}"
            )
        role, body = spec
        if role not in _TEMPLATE_ROLES:
            raise PromptError(
                f"{self._label}messages[{index}]: role must be one of {', '.join(_TEMPLATE_ROLES)}, got {role!r}"
                " (give tool messages as Message objects)"
            )
        location = f"messages[{index}] ({role})"
        where = self._label + location
        if isinstance(body, str):
            template, names = compile_text(body, where)
            return location, _Templated(cast(Role, role), where, template), names
        if not isinstance(body, Sequence) or not body:
            raise PromptError(f"{where}: a template is a string or a non-empty list of (kind, template) parts")
        parts: list[tuple[PartKind, Template]] = []
        found: set[str] = set()
        for number, part in enumerate(body):
            if not (isinstance(part, tuple) and len(part) == 2 and part[0] in get_args(PartKind)):
                raise PromptError(f"{where}, part {number}: expected ('text' or 'image_url', template), got {part!r}")
            template, names = compile_text(part[1], f"{where}, part {number}")
            parts.append((part[0], template))
            found |= names
        return location, _Templated(cast(Role, role), where, tuple(parts)), frozenset(found)

    def _render(self, variables: Mapping[str, Any]) -> list[Message]:
        values = self._variables.check(variables)
        messages: list[Message] = []
        for slot in self._slots:
            if isinstance(slot, _Templated):
                messages.append(slot.render(values))
            elif isinstance(slot, MessagesPlaceholder):
                messages.extend(_history(slot.name, values.get(slot.name, []), self._label))
            else:
                # A copy, so a caller that edits the returned messages cannot change the template's own.
                messages.append(copy.deepcopy(slot))
        return messages


def _history(name: str, value: Any, label: str) -> list[Message]:
    """The messages a placeholder splices in, each entry checked: a bad one is named by its index."""
    if not isinstance(value, list):
        raise PromptVariableError(name, f"expected a list of messages, got {type(value).__name__}", label=label)
    messages = []
    for index, entry in enumerate(value):
        path = f"{name}[{index}]"
        if isinstance(entry, Message):
            messages.append(entry)
        elif isinstance(entry, Mapping):
            messages.append(_from_dict(entry, path, label))
        else:
            problem = f"expected a Message or a {{'role', 'content'}} dict, got {type(entry).__name__}"
            raise PromptVariableError(path, problem, label=label)
    return messages


def _from_dict(entry: Mapping[str, Any], path: str, label: str) -> Message:
    unknown = [str(key) for key in entry if key not in _DICT_KEYS]
    problem = ""
    if unknown:
        problem = f"unknown keys {unknown}: a dict message has {', '.join(_DICT_KEYS)}; pass a Message for more"
    elif entry.get("role") not in get_args(Role):
        problem = f"role must be one of {', '.join(get_args(Role))}, got {entry.get('role')!r}"
    elif not isinstance(entry.get("content"), str):
        problem = f"content must be a string, got {type(entry.get('content')).__name__}"
    elif any(entry.get(key) is not None and not isinstance(entry[key], str) for key in ("name", "tool_call_id")):
        problem = "name and tool_call_id must be strings"
    elif entry["role"] == "tool" and entry.get("tool_call_id") is None:
        problem = "a tool message needs a tool_call_id"
    if problem:
        raise PromptVariableError(path, problem, label=label)
    return Message(
        role=entry["role"], content=entry["content"], name=entry.get("name"), tool_call_id=entry.get("tool_call_id")
    )
