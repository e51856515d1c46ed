"""Who is calling: bootstrap of the first admin and workspace, API keys, and the principal a token stands for."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass

from plait.platform import audit, caches
from plait.platform.errors import Forbidden, InvalidParams, NotFound, Unauthorized
from plait.store import UnitOfWork
from plait.store.base import now
from plait.store.repositories.access import hash_token
from plait.store.tables import ApiKey, User, Workspace, WorkspaceMember
from plait.store.tables.workspaces import ROLES as ROLES  # owner, admin, member, viewer

ADMIN_NAME = "admin"
DEFAULT_WORKSPACE = "Personal"
TOKEN_PREFIX = "pat_"
WRITER_ROLES = frozenset({"owner", "admin", "member"})
MANAGER_ROLES = frozenset({"owner", "admin"})  # who manages members and keys
OWNER = "owner"
MAX_MEMBERS = 1000  # listed at most
MAX_USER_NAME = 100
MAX_WORKSPACES = 100
USAGE_INTERVAL = 60  # seconds: a key's last_used_at is written at most this often per process

# What a key may reach, by API area. A key with no scopes (every key made before scopes existed, and any key
# made without --scope) reaches everything; the role in the workspace still decides what it may change.
SCOPES = {
    "bots": "create, update, publish, list and read bots",
    "chat": "conversations, messages and chats; everything under /openai/v1",
    "files": "upload and read files",
    "datasets": "knowledge bases (datasets) and their documents",
    "workspaces": "the key's user (/v1/users/me) and workspaces",
    "workflows": "create, list, read and run workflows; resume runs and read their histories",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    """A key's identity for one request: the user, the one workspace the key opens, the user's role there."""

    key_id: str
    user_id: str
    workspace_id: str
    role: str
    scopes: tuple[str, ...] = ()

    def require_scope(self, scope: str) -> None:
        if self.scopes and scope not in self.scopes:
            raise Forbidden(f"this API key lacks the {scope!r} scope; it has: {', '.join(self.scopes)}")

    def require_writer(self) -> None:
        if self.role not in WRITER_ROLES:
            raise Forbidden(f"role {self.role!r} cannot change anything in this workspace")

    def require_model_calls(self) -> None:
        """A chat completion spends the workspace's provider credit (and stores a conversation, for a bot): a
        writer's act. Viewers read: they list models and make embeddings, which run locally and store nothing."""
        if self.role not in WRITER_ROLES:
            raise Forbidden(f"role {self.role!r} cannot call chat models in this workspace (it spends its credit)")

    def require_workspace(self, workspace_id: str) -> None:
        """Another workspace reads as missing, so ids of other tenants cannot be probed."""
        if workspace_id != self.workspace_id:
            raise NotFound(f"workspace {workspace_id} not found")


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyRecord:
    """An API key as an admin sees it: never its token, which is stored only as a hash."""

    id: str
    workspace_id: str
    user_id: str | None
    name: str
    prefix: str
    scopes: tuple[str, ...]
    revoked_at: int | None
    last_used_at: int | None

    @classmethod
    def of(cls, key: ApiKey) -> KeyRecord:
        return cls(
            id=key.id,
            workspace_id=key.workspace_id,
            user_id=key.user_id,
            name=key.name,
            prefix=key.prefix,
            scopes=tuple(key.scopes),
            revoked_at=key.revoked_at,
            last_used_at=key.last_used_at,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class NewKey:
    key: KeyRecord
    token: str  # shown once; only its hash is stored


async def bootstrap(uow: UnitOfWork) -> User:
    """First start: the admin user and their "Personal" workspace. Later starts change nothing."""
    admin = await uow.users.get_by_name(ADMIN_NAME)
    if admin is None:
        admin = await uow.users.add(User(name=ADMIN_NAME, nick_name="Admin"))
        workspace = Workspace(name=DEFAULT_WORKSPACE, workspace_type="personal")
        await _add_workspace(uow, audit.Actor(None, audit.SYSTEM), workspace, admin)
    return admin


async def _add_workspace(uow: UnitOfWork, actor: audit.Actor, workspace: Workspace, owner: User) -> Workspace:
    await uow.workspaces.add(workspace, owner_id=owner.id)
    target = ("workspace", workspace.id)
    audit.record(uow, actor, "workspace.create", workspace.id, target, name=workspace.name, owner=owner.name)
    return workspace


async def user_workspaces(uow: UnitOfWork, user_id: str) -> list[tuple[Workspace, str]]:
    rows, _ = await uow.workspaces.for_user(user_id, page_size=MAX_WORKSPACES)
    return rows


async def find_or_create_workspace(uow: UnitOfWork, actor: audit.Actor, owner: User, ref: str | None) -> Workspace:
    """The owner's workspace by id or name (their first one when ``ref`` is None); a new team one otherwise."""
    workspaces = [workspace for workspace, _ in await user_workspaces(uow, owner.id)]
    for workspace in workspaces:
        if ref is None or ref in (workspace.id, workspace.name):
            return workspace
    workspace = Workspace(name=ref or DEFAULT_WORKSPACE, workspace_type="team")
    return await _add_workspace(uow, actor, workspace, owner)


async def find_or_add_member(
    uow: UnitOfWork, actor: audit.Actor, workspace: Workspace, user_name: str, role: str
) -> User:
    """The named user, created and added to ``workspace`` with ``role`` when they are not a member yet."""
    user = await uow.users.get_by_name(user_name) or await uow.users.add(User(name=user_name, nick_name=user_name))
    if await uow.workspaces.role(workspace.id, user.id) is None:
        await uow.workspaces.add_member(workspace.id, user.id, role)
        audit.record(uow, actor, "member.add", workspace.id, ("user", user.id), name=user.name, role=role)
    return user


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberRecord:
    """A member of a workspace as its owners and admins see it."""

    user_id: str
    name: str
    nick_name: str
    role: str
    joined_at: int

    @classmethod
    def of(cls, member: WorkspaceMember, user: User) -> MemberRecord:
        return cls(
            user_id=user.id, name=user.name, nick_name=user.nick_name, role=member.role, joined_at=member.created_at
        )


# Who may change memberships (docs/studio.md, "Members"): owners and admins manage members; only an owner
# grants the owner role or changes or removes an owner's membership; nobody removes or demotes the last owner.
LAST_OWNER = "the workspace's last owner cannot be removed or demoted: make another member owner first"


def _require_manager(principal: Principal) -> None:
    if principal.role not in MANAGER_ROLES:
        raise Forbidden(f"role {principal.role!r} cannot manage this workspace's members")


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidParams(f"role: {role[:40]!r} is not a role; roles: {', '.join(ROLES)}")
    return role


def check_user_name(name: str) -> str:
    """A user name as typed, without its outer spaces: printable, 1 to ``MAX_USER_NAME`` characters."""
    name = name.strip()
    if not name or len(name) > MAX_USER_NAME or not name.isprintable():
        raise InvalidParams(f"user_name: 1 to {MAX_USER_NAME} printable characters, no control characters")
    return name


async def _member(uow: UnitOfWork, workspace_id: str, user_id: str) -> tuple[WorkspaceMember, User]:
    """The membership of ``user_id`` (an id: 1 to 32 digits) in the workspace, with its user; else 404."""
    member = (
        await uow.workspaces.member(workspace_id, user_id)
        if user_id.isascii() and user_id.isdigit() and len(user_id) <= 32
        else None
    )
    user = await uow.users.get(user_id) if member is not None else None
    if member is None or user is None:
        raise NotFound(f"member {user_id[:32]!r} not found in this workspace")
    return member, user


async def _keeps_an_owner(uow: UnitOfWork, workspace_id: str) -> None:
    """Checked again after the change is written, inside its transaction: with the workspace row locked
    (PostgreSQL) or the database's one write lock held (SQLite), a concurrent change of another owner has
    committed or waits, so two owners demoting each other at once leave one. The error rolls the change back."""
    if await uow.workspaces.count_role(workspace_id, OWNER) == 0:
        raise InvalidParams(LAST_OWNER)


async def list_members(uow: UnitOfWork, principal: Principal) -> list[MemberRecord]:
    """The principal's workspace's members, oldest first (owners and admins only)."""
    _require_manager(principal)
    rows = await uow.workspaces.members(principal.workspace_id, limit=MAX_MEMBERS)
    return [MemberRecord.of(member, user) for member, user in rows]


async def add_member(uow: UnitOfWork, principal: Principal, user_name: str, role: str) -> MemberRecord:
    """The user named ``user_name`` (created when new, as ``plait keys create --user`` does) joins the
    principal's workspace with ``role``; a user who is a member already is a 400 (change their role instead)."""
    _require_manager(principal)
    name, role = check_user_name(user_name), check_role(role)
    if role == OWNER and principal.role != OWNER:
        raise Forbidden("only an owner can make someone an owner")
    await uow.workspaces.lock(principal.workspace_id)
    user = await uow.users.get_by_name(name)
    if user is not None and await uow.workspaces.member(principal.workspace_id, user.id) is not None:
        raise InvalidParams(f"user_name: {name!r} is a member already; change their role instead")
    user = user or await uow.users.add(User(name=name, nick_name=name))
    member = await uow.workspaces.add_member(principal.workspace_id, user.id, role)
    actor = audit.Actor.of(principal)
    audit.record(uow, actor, "member.add", principal.workspace_id, ("user", user.id), name=user.name, role=role)
    return MemberRecord.of(member, user)


async def change_role(uow: UnitOfWork, principal: Principal, user_id: str, role: str) -> MemberRecord:
    """Give a member another role; their keys act with it from their next request, in every process."""
    _require_manager(principal)
    role = check_role(role)
    await uow.workspaces.lock(principal.workspace_id)
    member, user = await _member(uow, principal.workspace_id, user_id)
    if OWNER in (role, member.role) and principal.role != OWNER and role != member.role:
        raise Forbidden("only an owner can make someone an owner or change an owner's role")
    if member.role == OWNER and role != OWNER and await uow.workspaces.count_role(principal.workspace_id, OWNER) <= 1:
        raise InvalidParams(LAST_OWNER)
    if role != member.role:
        before, member.role = member.role, role
        await uow.flush()
        await _keeps_an_owner(uow, principal.workspace_id)
        detail: dict[str, audit.Detail] = {"name": user.name, "role": role, "was": before}
        audit.record(uow, audit.Actor.of(principal), "member.role", principal.workspace_id, ("user", user.id), **detail)
    return MemberRecord.of(member, user)


async def remove_member(uow: UnitOfWork, principal: Principal, user_id: str) -> MemberRecord:
    """Take a member out of the workspace and revoke their keys of it (so adding them back later does not
    bring old keys back to life); their requests fail from the next one, in every process."""
    _require_manager(principal)
    await uow.workspaces.lock(principal.workspace_id)
    member, user = await _member(uow, principal.workspace_id, user_id)
    if member.role == OWNER and principal.role != OWNER:
        raise Forbidden("only an owner can remove an owner")
    if member.role == OWNER and await uow.workspaces.count_role(principal.workspace_id, OWNER) <= 1:
        raise InvalidParams(LAST_OWNER)
    record = MemberRecord.of(member, user)
    await uow.workspaces.remove_member(member)
    await _keeps_an_owner(uow, principal.workspace_id)
    revoked_at = now()
    keys = await uow.api_keys.of_user(principal.workspace_id, user.id)
    for key in keys:
        key.revoked_at = revoked_at
    await uow.flush()
    detail: dict[str, audit.Detail] = {"name": user.name, "role": member.role, "keys_revoked": len(keys)}
    audit.record(uow, audit.Actor.of(principal), "member.remove", principal.workspace_id, ("user", user.id), **detail)
    return record


async def key_user(uow: UnitOfWork, principal: Principal, user_id: str | None) -> str:
    """Whom a key made by ``principal`` acts as: themselves, or a member of the workspace (owners and admins
    only; an admin makes no key for an owner, which would act with more than the admin's own role)."""
    _require_manager(principal)
    if user_id is None or user_id == principal.user_id:
        return principal.user_id
    member, user = await _member(uow, principal.workspace_id, user_id)
    if member.role == OWNER and principal.role != OWNER:
        raise Forbidden("only an owner can make a key that acts as an owner")
    return user.id


class UsageThrottle:
    """Which keys are due a ``last_used_at`` write: at most one per key per ``interval`` in this process, so a
    hot key costs one small write a minute instead of one per request. Every worker process has its own."""

    def __init__(self, interval: int = USAGE_INTERVAL) -> None:
        self.interval = interval
        self._written: dict[str, int] = {}

    def claim(self, key_id: str, at: int) -> bool:
        """True (and the key counts as written at ``at``) when the key was not written in the last interval."""
        last = self._written.get(key_id)
        if last is not None and at - last < self.interval:
            return False
        self._written[key_id] = at
        return True


def check_scopes(scopes: Iterable[str]) -> list[str]:
    """The scopes without repeats, in the order given; an unknown one is an error that lists the known ones."""
    checked: list[str] = []
    for scope in scopes:
        if scope not in SCOPES:
            raise InvalidParams(f"unknown scope {scope!r}; known scopes: {', '.join(SCOPES)}")
        if scope not in checked:
            checked.append(scope)
    return checked


async def create_key(
    uow: UnitOfWork, actor: audit.Actor, *, workspace_id: str, user_id: str, name: str, scopes: Iterable[str] = ()
) -> NewKey:
    """A new key for ``user_id``, made by ``actor``; no ``scopes`` means every scope."""
    if not name.strip() or not name.isprintable():
        raise InvalidParams("name: a key's name needs a printable character and no control characters")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        workspace_id=workspace_id,
        user_id=user_id,
        name=name,
        token_hash=hash_token(token),
        prefix=token[:12],
        scopes=check_scopes(scopes),
    )
    await uow.api_keys.add(key)
    detail = {"name": name, "scopes": list(key.scopes), "user_id": user_id}
    audit.record(uow, actor, "api_key.create", workspace_id, ("api_key", key.id), **detail)
    return NewKey(key=KeyRecord.of(key), token=token)


async def list_keys(uow: UnitOfWork, workspace_id: str) -> list[KeyRecord]:
    return [KeyRecord.of(key) for key in (await uow.api_keys.page(workspace_id, page_size=100)).items]


async def revoke_key(uow: UnitOfWork, actor: audit.Actor, workspace_ids: list[str], key_id: str) -> KeyRecord:
    for workspace_id in workspace_ids:
        key = await uow.api_keys.update(workspace_id, key_id, revoked_at=now())
        if key is not None:
            audit.record(uow, actor, "api_key.revoke", workspace_id, ("api_key", key.id), name=key.name)
            return KeyRecord.of(key)
    raise NotFound(f"api key {key_id} not found")


class PrincipalCache:
    """Principals by token hash for ``ttl`` seconds, so a busy key skips two reads a request. A revoked key or a
    changed membership is forgotten when it commits, in every process with Redis (`plait.platform.caches`);
    the TTL bounds what a lost notice costs (0 turns the cache off)."""

    def __init__(self, ttl: float, size: int = 10_000) -> None:
        self.ttl = ttl
        self.size = size
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._forgets = 0  # a principal read while a forget happened may be stale: it is not cached
        caches.register(self)

    async def authenticate(self, uow: UnitOfWork, token: str) -> Principal:
        digest = hash_token(token)
        entry = self._entries.get(digest)
        if entry is not None and entry[0] > time.monotonic():
            return entry[1]
        forgets = self._forgets
        principal = await _authenticate(uow, digest)  # an unknown token raises: failures are never cached
        if self.ttl > 0 and forgets == self._forgets:
            if len(self._entries) >= self.size:
                self._entries.pop(next(iter(self._entries)))
            self._entries[digest] = (time.monotonic() + self.ttl, principal)
        return principal

    def forget(self, topic: str, key: str) -> None:
        if topic == "api_key":
            stale = [digest for digest, (_, p) in self._entries.items() if p.key_id == key]
        elif topic == "member":
            stale = [digest for digest, (_, p) in self._entries.items() if f"{p.workspace_id} {p.user_id}" == key]
        else:
            return
        self._forgets += 1
        for digest in stale:
            del self._entries[digest]


async def authenticate(uow: UnitOfWork, token: str) -> Principal:
    return await _authenticate(uow, hash_token(token))


async def _authenticate(uow: UnitOfWork, token_hash: str) -> Principal:
    key = await uow.api_keys.find_active(token_hash, now())
    role = await uow.workspaces.role(key.workspace_id, key.user_id) if key and key.user_id else None
    if key is None or key.user_id is None or role is None:
        raise Unauthorized("the API key is unknown, revoked or expired")
    return Principal(
        key_id=key.id, user_id=key.user_id, workspace_id=key.workspace_id, role=role, scopes=tuple(key.scopes)
    )


async def record_use(uow: UnitOfWork, key_id: str, at: int) -> None:
    await uow.api_keys.mark_used(key_id, at)


async def current_user(uow: UnitOfWork, principal: Principal) -> User:
    user = await uow.users.get(principal.user_id)
    if user is None:
        raise Unauthorized("the key's user no longer exists")
    return user


async def principal_workspace(uow: UnitOfWork, principal: Principal) -> Workspace:
    workspace = await uow.workspaces.get(principal.workspace_id)
    if workspace is None:
        raise Unauthorized("the key's workspace no longer exists")
    return workspace
