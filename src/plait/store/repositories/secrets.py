"""The encrypted secrets of every workspace (provider keys, plugin secrets), read and replaced for a key
rotation: the only repository that crosses workspaces, as the server's key does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from plait.store.tables import ModelConfig, Plugin

SecretKind = Literal["provider", "plugin"]
_COLUMNS: dict[SecretKind, InstrumentedAttribute[bytes | None]] = {
    "provider": ModelConfig.encrypted_key,
    "plugin": Plugin.encrypted_secret,
}


@dataclass(frozen=True, slots=True)
class StoredSecret:
    kind: SecretKind
    id: str  # the row's id, bound into the ciphertext
    ciphertext: bytes


class SecretRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def stored(self) -> list[StoredSecret]:
        found: list[StoredSecret] = []
        for kind, column in _COLUMNS.items():
            table = column.class_
            rows = await self.session.execute(select(table.id, column).where(column.is_not(None)).order_by(table.id))
            found += [StoredSecret(kind, id, bytes(value)) for id, value in rows]
        return found

    async def replace(self, secret: StoredSecret, ciphertext: bytes) -> bool:
        """Swap the ciphertext if the row still holds the one read; False when it changed or went meanwhile."""
        column = _COLUMNS[secret.kind]
        table = column.class_
        query = update(table).where(table.id == secret.id, column == secret.ciphertext).values({column: ciphertext})
        result: CursorResult[tuple[()]] = await self.session.execute(query)  # type: ignore[assignment]
        return result.rowcount == 1
