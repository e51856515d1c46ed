"""A workspace's members on SQLite and PostgreSQL: owners and admins list, add, re-role and remove them; only an
owner grants or touches the owner role; the last owner stays; each change is one audit row in its own
transaction (a refused one writes none); a removed member's keys are revoked, and a cached principal is
forgotten at once despite a long TTL, for a role change as for a removal."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass

import pytest
from platform_fixtures import workspace_owner

from plait.platform import Forbidden, InvalidParams, NotFound, Unauthorized, access, audit
from plait.platform.access import Principal, PrincipalCache
from plait.platform.audit_log import AuditFilter, instance_events
from plait.store import Database


@dataclass(slots=True)
class Space:
    database: Database
    owner: Principal

    def as_(self, member: access.MemberRecord) -> Principal:
        return Principal(key_id="", user_id=member.user_id, workspace_id=self.owner.workspace_id, role=member.role)

    async def actions(self) -> list[str]:
        async with self.database.unit_of_work() as uow:
            page = await instance_events(uow, AuditFilter(action="member"), page_size=100)
        return [event.action for event in reversed(page.items)]


@pytest.fixture
async def space(database_url: str) -> AsyncIterator[Space]:
    database = Database(database_url)
    async with database.unit_of_work() as uow:
        owner = await workspace_owner(uow)
    try:
        yield Space(database, owner)
    finally:
        await database.dispose()


async def _add(space: Space, caller: Principal, name: str, role: str) -> access.MemberRecord:
    async with space.database.unit_of_work() as uow:
        return await access.add_member(uow, caller, name, role)


async def test_an_owner_adds_lists_re_roles_and_removes_a_member(space: Space) -> None:
    dana = await _add(space, space.owner, "  dana  ", "viewer")
    assert (dana.name, dana.role) == ("dana", "viewer") and dana.joined_at > 0
    async with space.database.unit_of_work() as uow:
        listed = await access.list_members(uow, space.owner)
        assert [(m.name, m.role) for m in listed] == [("admin", "owner"), ("dana", "viewer")]
        assert (await access.change_role(uow, space.owner, dana.user_id, "admin")).role == "admin"
    async with space.database.unit_of_work() as uow:
        assert (await access.change_role(uow, space.owner, dana.user_id, "admin")).role == "admin"  # no change
        removed = await access.remove_member(uow, space.owner, dana.user_id)
    assert removed.name == "dana"
    async with space.database.unit_of_work() as uow:
        assert [m.name for m in await access.list_members(uow, space.owner)] == ["admin"]
        again = await access.add_member(uow, space.owner, "dana", "member")  # the user is kept: back they come
    assert again.user_id == dana.user_id
    assert await space.actions() == ["member.add", "member.role", "member.remove", "member.add"]


@pytest.mark.parametrize(
    ("name", "role", "error"),
    [
        ("", "member", InvalidParams),
        ("   ", "member", InvalidParams),
        ("a\x00b", "member", InvalidParams),
        ("x" * 101, "member", InvalidParams),
        ("erin", "boss", InvalidParams),
        ("admin", "member", InvalidParams),  # a member already
    ],
)
async def test_bad_additions_are_refused_and_write_nothing(
    space: Space, name: str, role: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        await _add(space, space.owner, name, role)
    assert await space.actions() == []


async def test_members_and_viewers_manage_nobody(space: Space) -> None:
    for role in ("member", "viewer"):
        who = await _add(space, space.owner, f"just-{role}", role)
        async with space.database.unit_of_work() as uow:
            with pytest.raises(Forbidden):
                await access.list_members(uow, space.as_(who))
            with pytest.raises(Forbidden):
                await access.add_member(uow, space.as_(who), "someone", "viewer")
            with pytest.raises(Forbidden):
                await access.remove_member(uow, space.as_(who), who.user_id)


async def test_an_admin_manages_everyone_but_owners(space: Space) -> None:
    ada = await _add(space, space.owner, "ada", "admin")
    other_owner = await _add(space, space.owner, "olga", "owner")
    admin = space.as_(ada)
    bob = await _add(space, admin, "bob", "member")
    async with space.database.unit_of_work() as uow:
        assert (await access.change_role(uow, admin, bob.user_id, "viewer")).role == "viewer"
        for refused in (
            access.add_member(uow, admin, "carl", "owner"),
            access.change_role(uow, admin, bob.user_id, "owner"),
            access.change_role(uow, admin, other_owner.user_id, "member"),
            access.remove_member(uow, admin, other_owner.user_id),
            access.key_user(uow, admin, other_owner.user_id),
        ):
            with pytest.raises(Forbidden):
                await refused
        assert await access.key_user(uow, admin, bob.user_id) == bob.user_id
        await access.remove_member(uow, admin, bob.user_id)
        await access.remove_member(uow, admin, ada.user_id)  # an admin may leave


async def test_the_last_owner_is_neither_removed_nor_demoted(space: Space) -> None:
    me = space.owner.user_id
    for attempt in ("remove", "demote"):
        async with space.database.unit_of_work() as uow:
            with pytest.raises(InvalidParams, match="last owner"):
                if attempt == "remove":
                    await access.remove_member(uow, space.owner, me)
                else:
                    await access.change_role(uow, space.owner, me, "admin")
    olga = await _add(space, space.owner, "olga", "owner")
    async with space.database.unit_of_work() as uow:  # with a second owner, the first may step down
        assert (await access.change_role(uow, space.owner, me, "admin")).role == "admin"
    async with space.database.unit_of_work() as uow:
        with pytest.raises(InvalidParams, match="last owner"):
            await access.remove_member(uow, space.as_(olga), olga.user_id)
    assert await space.actions() == ["member.add", "member.role"]


@pytest.mark.parametrize("user_id", ["404", "x" * 5000, "1\x002", "", "７"])
async def test_an_unknown_member_is_404(space: Space, user_id: str) -> None:
    async with space.database.unit_of_work() as uow:
        with pytest.raises(NotFound):
            await access.change_role(uow, space.owner, user_id, "viewer")
        with pytest.raises(NotFound):
            await access.remove_member(uow, space.owner, user_id)
        with pytest.raises(NotFound):
            await access.key_user(uow, space.owner, user_id)


async def test_a_cached_principal_sees_a_role_change_and_a_removal_at_once(space: Space) -> None:
    cache = PrincipalCache(ttl=3600)
    dana = await _add(space, space.owner, "dana", "member")
    async with space.database.unit_of_work() as uow:
        actor = audit.Actor.of(space.owner)
        made = await access.create_key(
            uow, actor, workspace_id=space.owner.workspace_id, user_id=dana.user_id, name="dana's"
        )
    async with space.database.unit_of_work() as uow:
        assert (await cache.authenticate(uow, made.token)).role == "member"
        await access.change_role(uow, space.owner, dana.user_id, "viewer")
    async with space.database.unit_of_work() as uow:
        assert (await cache.authenticate(uow, made.token)).role == "viewer"
        await access.remove_member(uow, space.owner, dana.user_id)
    async with space.database.unit_of_work() as uow:
        with pytest.raises(Unauthorized):
            await cache.authenticate(uow, made.token)
        await access.add_member(uow, space.owner, "dana", "member")
    async with space.database.unit_of_work() as uow:  # back in the workspace, her old key stays revoked
        with pytest.raises(Unauthorized):
            await cache.authenticate(uow, made.token)
        (key,) = [k for k in await access.list_keys(uow, space.owner.workspace_id) if k.id == made.key.id]
        assert key.revoked_at is not None


async def test_two_owners_demoting_each_other_at_once_leave_one_owner(space: Space) -> None:
    olga = await _add(space, space.owner, "olga", "owner")
    me = space.owner

    async def demote(caller: Principal, user_id: str) -> str:
        try:
            async with space.database.unit_of_work() as uow:
                await access.change_role(uow, caller, user_id, "admin")
        except InvalidParams:
            return "refused"
        return "done"

    outcomes = await asyncio.gather(demote(me, olga.user_id), demote(space.as_(olga), me.user_id))
    assert sorted(outcomes) == ["done", "refused"]
    async with space.database.unit_of_work() as uow:
        roles = [m.role for m in await access.list_members(uow, Principal(**{**asdict(me), "role": "admin"}))]
    assert roles.count("owner") == 1
