"""What a node type is, what it gets when it runs, and the registry the validator and the engine look types up in.

A node type is a class with a ``type`` name, a pydantic ``Config`` model, the outputs and branches it declares
for a given config, and ``async run(ctx, inputs, config) -> NodeResult``. The engine resolves the node's input
references before calling it, so ``inputs`` holds plain values; ``ctx`` gives the run's services, variables, an
emitter for chunks and messages, and ``interrupt`` for nodes that wait for a person.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict

from plait.schema import PlaitError
from plait.workflows.dsl import Body, Param

C = TypeVar("C", bound=BaseModel)
S = TypeVar("S")
T = TypeVar("T", bound="builtins.type[NodeType[Any]] | NodeType[Any]")

Control = Literal["break", "continue"]


class NodeConfig(BaseModel):
    """Base of node config models: unknown keys are errors, so a typo is reported, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class EmptyConfig(NodeConfig):
    """For node types without configuration."""


@dataclass(slots=True)
class NodeResult:
    """What a node run gives back.

    ``outputs`` are what later nodes reference. ``branch`` names the source handle whose edges run next
    (None: the edges without a handle). ``control`` is set by break/continue nodes inside a loop body.
    """

    outputs: dict[str, Any] = field(default_factory=dict)
    branch: str | None = None
    control: Control | None = None


class NodeError(PlaitError):
    """A node failed for a reason its author can act on (bad input, a tool's refusal...)."""

    def __init__(self, node_id: str, message: str) -> None:
        self.node_id = node_id
        self.reason = message
        super().__init__(f"node {node_id}: {message}")


class ServiceMissing(NodeError):
    """The node needs a service this run was not given (a workspace's datasets in a local run...)."""


class WorkflowInterrupt(Exception):
    """Raised by ``ctx.interrupt`` when no answer is there yet; the engine records it and pauses the node.

    An Exception rather than a BaseException so ``asyncio`` treats it like any failure, but the engine never
    retries it nor applies the node's error policy to it.
    """

    def __init__(self, node_id: str, kind: str, data: Any) -> None:
        super().__init__(f"node {node_id} waits for {kind}")
        self.node_id = node_id
        self.kind = kind
        self.data = data


@dataclass(frozen=True, slots=True)
class BodyRun:
    """One iteration of a container's body: each body node's outputs, and a break/continue if one ran."""

    outputs: Mapping[str, Mapping[str, Any]]
    control: Control | None = None


class NodeContext(Protocol):
    """What a running node can reach. The engine implements it; node types only use it."""

    @property
    def run_id(self) -> str: ...

    @property
    def node_id(self) -> str: ...

    @property
    def services(self) -> Services: ...

    @property
    def variables(self) -> MutableMapping[str, Any]:
        """The run's variables (``$vars``); assigning here is seen by nodes that run later."""
        ...

    @property
    def run_inputs(self) -> Mapping[str, Any]:
        """The workflow's inputs, checked against its declared parameters (what the start node outputs)."""
        ...

    @property
    def streaming(self) -> bool:
        """True when the run streams: models should stream and ``emit_chunk`` their tokens."""
        ...

    @property
    def system(self) -> Mapping[str, Any]:
        """Values the caller supplied (``$sys``)."""
        ...

    def emit_chunk(self, chunk: Any) -> None:
        """Stream a piece of this node's output (a token of an answer) to whoever follows the run."""
        ...

    def emit_message(self, content: Any, *, role: str = "assistant", stream_end: bool = True) -> None:
        """Send a message to the user mid-run (message output, chatflow answers)."""
        ...

    def interrupt(self, kind: str, data: Any = None) -> Any:
        """Wait for a person: the answer when the run is resumed with one, else raise ``WorkflowInterrupt``.

        The node runs again from its start on resume; the k-th call returns the k-th answer, so code before
        the call must be safe to repeat.
        """
        ...

    def resolve(self, value: Any) -> Any:
        """Resolve an ``Input``-shaped value (``{"ref": ...}`` or a constant) found inside a config."""
        ...

    async def run_body(self, variables: Mapping[str, Any], *, index: int | None = None) -> BodyRun:
        """Run this container node's body once; references to the container's id see ``variables``.

        ``index`` labels the iteration in events (default: 0, 1, 2... per call). Calls may run concurrently.
        A failing body node fails the call (``NodeFailedError``) unless its own error policy goes on."""
        ...

    async def run_workflow(self, doc: Any, inputs: Mapping[str, Any]) -> Mapping[str, Any]:
        """Run another workflow as part of this run (sub-workflow) and return its outputs."""
        ...


class ModelSource(Protocol):
    def get(self, model_id: str, **default_options: Any) -> Any: ...


class ToolSource(Protocol):
    """Tools by name: built-ins, a workspace's plugins."""

    async def get_tool(self, name: str) -> Any: ...


@dataclass(slots=True)
class Services:
    """What a run may use besides its document: the model registry, tools, and typed extras.

    Extras are keyed by a protocol class, so a node type that needs something (a knowledge search, a bot
    runner, a workflow store) asks for it with ``services.require(Protocol)`` and a local run without it fails
    with a clear ``ServiceMissing`` instead of an attribute error.
    """

    models: ModelSource | None = None
    tools: ToolSource | None = None
    extras: dict[type[Any], Any] = field(default_factory=dict)

    def with_extra(self, kind: type[S], service: S) -> Services:
        return Services(models=self.models, tools=self.tools, extras={**self.extras, kind: service})

    def find(self, kind: type[S]) -> S | None:
        return self.extras.get(kind)

    def require(self, kind: type[S], node_id: str, why: str) -> S:
        found = self.extras.get(kind)
        if found is None:
            raise ServiceMissing(node_id, f"{why}, and this run has no {kind.__name__} (not available in a local run)")
        return found  # type: ignore[no-any-return]


class NodeType(Generic[C]):
    """A kind of node. Subclass it, set ``type`` and ``Config``, implement ``run``; then ``register`` it.

    ``outputs`` and ``branches`` describe the node for validation and the editor; ``inputs`` names the inputs
    the type requires (beyond those the user adds freely). A type with ``container = True`` has a body.
    """

    type: ClassVar[str]
    Config: ClassVar[builtins.type[BaseModel]] = EmptyConfig
    title: ClassVar[str] = ""
    container: ClassVar[bool] = False
    interrupts: ClassVar[bool] = False  # the node may wait for a person

    def parse_config(self, raw: Mapping[str, Any]) -> C:
        return self.Config.model_validate(raw)  # type: ignore[return-value]

    def outputs(self, config: C, declared: Sequence[Param]) -> Sequence[Param] | None:
        """The outputs later nodes may reference; None when anything goes (unknown until run time).

        By default the node's declared outputs, or None when it declares none."""
        return list(declared) if declared else None

    def branches(self, config: C) -> Sequence[str] | None:
        """The source handles this node chooses between; None for a node with one way out."""
        return None

    def inputs(self, config: C) -> Sequence[Param]:
        """Inputs the node needs, with their types: validation reports missing and mistyped ones."""
        return ()

    def check(self, config: C, node_inputs: Mapping[str, Any], body: Body | None) -> list[tuple[str, str]]:
        """Problems validation cannot see from the declarations: (field, message) pairs."""
        return []

    async def run(self, ctx: NodeContext, inputs: dict[str, Any], config: C) -> NodeResult:
        raise NotImplementedError


_REGISTRY: dict[str, NodeType[Any]] = {}


def register(node_type: T) -> T:
    """Add a node type (class or instance) under its ``type`` name; usable as a class decorator."""
    instance = node_type() if isinstance(node_type, type) else node_type
    name = getattr(instance, "type", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f"{type(instance).__name__} has no 'type' name")
    existing = _REGISTRY.get(name)
    if existing is not None and type(existing) is not type(instance):
        raise ValueError(f"node type {name!r} is already registered by {type(existing).__name__}")
    _REGISTRY[name] = instance
    return node_type


def get_node_type(name: str) -> NodeType[Any] | None:
    from plait.workflows.nodes import load_builtin_nodes

    load_builtin_nodes()
    return _REGISTRY.get(name)


def node_types() -> dict[str, NodeType[Any]]:
    from plait.workflows.nodes import load_builtin_nodes

    load_builtin_nodes()
    return dict(_REGISTRY)
