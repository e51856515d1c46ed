"""Secret-key rotation (``plait secrets rotate``): every stored provider key and plugin secret re-encrypted under
a new key, the old keys kept for decryption until no row needs them.

With the key in ``<data_dir>/secret.key`` (the default) the file gains a new first line (the old key stays as a
decrypt-only line), the rows are re-encrypted, then the old lines are dropped. Each row is its own transaction
and a conditional update (the ciphertext read must still be there), so a crash at any point leaves every row
readable with the file as it is, and running the command again finishes the job: a file with more than one
key is a rotation under way, resumed with its first key. With the key in the configuration
(``PLAIT_SECRET_KEY``), the operator sets the new key there and the old ones in ``PLAIT_PREVIOUS_SECRET_KEYS``;
the command re-encrypts under the new one and touches no file."""

from __future__ import annotations

import base64
from dataclasses import dataclass, replace

from plait.platform import audit
from plait.platform.services import admin_unit_of_work, prepare_database
from plait.settings import Settings, new_secret_key, stored_secret_keys, write_secret_keys
from plait.store import Database
from plait.store.crypto import SecretBox, UndecryptableSecret

MAX_PASSES = 5  # a pass that meets rows changed meanwhile is followed by another


@dataclass(frozen=True, slots=True, kw_only=True)
class Rotation:
    rotated: int  # rows re-encrypted under the new key
    current: int  # rows that were already under it (a resumed rotation)
    undecryptable: tuple[str, ...]  # "provider <id>" / "plugin <id>": under none of the keys, left as they are
    retired_keys: int = 0  # old keys dropped from the key file

    def to_json(self) -> dict[str, object]:
        return {
            "rotated": self.rotated,
            "current": self.current,
            "undecryptable": list(self.undecryptable),
            "retired_keys": self.retired_keys,
        }


async def rotate_secret_key(settings: Settings) -> Rotation:
    """Rotate the key of ``settings``' database (migrated first); works while servers run (see docs). The
    audit log gets its row once every secret is done: the rotation is many transactions, and one that stops
    midway is finished by running it again."""
    await prepare_database(settings)
    database = Database(settings.database_url)
    try:
        rotation = await _rotate(settings, database)
    finally:
        await database.dispose()
    async with admin_unit_of_work(settings) as uow:
        facts = {"rotated": rotation.rotated, "current": rotation.current, "retired_keys": rotation.retired_keys}
        facts["undecryptable"] = len(rotation.undecryptable)  # a count: the log names no secret's row
        audit.record(uow, audit.Actor(None, audit.CLI), "secrets.rotate", None, ("secret_key", None), **facts)
    return rotation


async def _rotate(settings: Settings, database: Database) -> Rotation:
    path = settings.secret_key_file
    if path is None:
        return await reencrypt(database, SecretBox(*settings.aes_keys()))
    keys = stored_secret_keys(path)
    if len(keys) == 1:
        keys = [new_secret_key(), *keys]
        write_secret_keys(path, keys)
    rotation = await reencrypt(database, SecretBox(*(base64.urlsafe_b64decode(key) for key in keys)))
    write_secret_keys(path, keys[:1])  # every readable row is under keys[0] now
    return replace(rotation, retired_keys=len(keys) - 1)


class RotationUnsettled(RuntimeError):
    """Secrets kept being written under old keys through every pass; the old keys are kept."""


async def reencrypt(database: Database, box: SecretBox) -> Rotation:
    """Passes over the stored secrets until one finds none to re-encrypt (a row written meanwhile by a server
    with the old key is caught by the next pass)."""
    rotated, undecryptable = 0, set[str]()
    for _ in range(MAX_PASSES):
        async with database.unit_of_work() as uow:
            stored = await uow.secrets.stored()
        current, changed = 0, False
        for secret in stored:
            try:
                ciphertext = box.rotated(secret.ciphertext, context=secret.id)
            except UndecryptableSecret:
                undecryptable.add(f"{secret.kind} {secret.id}")
                continue
            if ciphertext is None:
                current += 1
                continue
            changed = True
            async with database.unit_of_work() as uow:
                rotated += await uow.secrets.replace(secret, ciphertext)
        if not changed:
            return Rotation(rotated=rotated, current=current - rotated, undecryptable=tuple(sorted(undecryptable)))
    raise RotationUnsettled(f"secrets were still written under old keys after {MAX_PASSES} passes: run it again")
