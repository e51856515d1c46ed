"""A bot's plugins as its config names them: checked against the workspace's plugins when the config changes,
and described (names, operations) for the bot's Coze rendering."""

from __future__ import annotations

from dataclasses import dataclass

from plait.platform.access import Principal
from plait.platform.bot_config import BotConfig
from plait.platform.builtin_plugins import BUILTINS, is_builtin
from plait.platform.errors import InvalidParams
from plait.store import UnitOfWork


@dataclass(frozen=True, slots=True, kw_only=True)
class BoundPlugin:
    """A plugin a bot names, with the description of each operation it has (what ``api_id`` names)."""

    id: str
    name: str
    description: str
    operations: dict[str, str]


async def bound_plugins(uow: UnitOfWork, workspace_id: str, config: BotConfig) -> dict[str, BoundPlugin]:
    """The plugins ``config`` names that exist, by id; a plugin's operations as last read."""
    ids = list(dict.fromkeys(binding.plugin_id for binding in config.plugins))
    found: dict[str, BoundPlugin] = {}
    for plugin_id in ids:
        if is_builtin(plugin_id):
            builtin = BUILTINS[plugin_id]
            tool = builtin.make().spec
            found[plugin_id] = BoundPlugin(
                id=plugin_id,
                name=builtin.name,
                description=builtin.description,
                operations={tool.name: tool.description},
            )
    for row in await uow.plugins.among(workspace_id, [i for i in ids if not is_builtin(i)]):
        operations = {o["name"]: o.get("description", "") for o in row.operations}
        found[row.id] = BoundPlugin(id=row.id, name=row.name, description=row.description, operations=operations)
    return found


@dataclass(frozen=True, slots=True, kw_only=True)
class BindablePlugin:
    """A plugin a bot may name, as the agent editor offers it: ``kind`` is ``builtin``, ``openapi`` or ``mcp``
    (an MCP server is a plugin of that kind), ``operations`` its tools' names and descriptions as last read."""

    id: str
    name: str
    kind: str
    description: str
    operations: dict[str, str]


async def bindable_plugins(uow: UnitOfWork, principal: Principal) -> list[BindablePlugin]:
    """The built-in plugins, then the workspace's own, oldest first, with the operations stored when each was
    last read (no MCP server is asked here: the editor opens without waiting for one)."""
    found = []
    for plugin_id, builtin in BUILTINS.items():
        tool = builtin.make().spec
        found.append(
            BindablePlugin(
                id=plugin_id,
                name=builtin.name,
                kind="builtin",
                description=builtin.description,
                operations={tool.name: tool.description},
            )
        )
    for row in await uow.plugins.all(principal.workspace_id):
        operations = {o["name"]: o.get("description", "") for o in row.operations}
        found.append(
            BindablePlugin(id=row.id, name=row.name, kind=row.kind, description=row.description, operations=operations)
        )
    return found


async def check_bindings(uow: UnitOfWork, workspace_id: str, before: BotConfig | None, after: BotConfig) -> None:
    """Every ``plugin_id`` a plugin of the workspace (or built in), every ``api_id`` one of its operations, tool
    names unique beside the client tools, and ``approve_before`` naming bound tools only. Checked only when
    the bindings change: a plugin's operations may change later, and the chat then leaves the missing out."""
    if before is not None and (before.plugins, before.approve_before, before.tools) == (
        after.plugins,
        after.approve_before,
        after.tools,
    ):
        return
    found = await bound_plugins(uow, workspace_id, after)
    names: dict[str, str] = {tool.name: "a client tool" for tool in after.tools}
    for index, binding in enumerate(after.plugins):
        place = f"plugin_id_list.id_list[{index}]"
        plugin = found.get(binding.plugin_id)
        if plugin is None:
            raise InvalidParams(f"{place}.plugin_id: plugin {binding.plugin_id} not found in this workspace")
        if binding.api_id not in plugin.operations:
            known = ", ".join(plugin.operations) or "none"
            raise InvalidParams(
                f"{place}.api_id: plugin {plugin.name!r} has no operation {binding.api_id!r}; its operations: {known}"
            )
        owner = f"plugin {plugin.name!r}"
        if names.get(binding.api_id, owner) != owner:
            raise InvalidParams(f"{place}.api_id: a tool named {binding.api_id!r} is already {names[binding.api_id]}")
        names[binding.api_id] = owner
    for index, name in enumerate(after.approve_before):
        if not names.get(name, "").startswith("plugin "):
            bound = ", ".join(n for n, owner in names.items() if owner.startswith("plugin ")) or "none"
            raise InvalidParams(
                f"approve_before[{index}]: {name!r} is not a tool of the bot's plugins; they are: {bound}"
            )
