from __future__ import annotations

import os

import pytest

from plait.store.crypto import SecretBox, UndecryptableSecret


def test_round_trip_and_fresh_nonce() -> None:
    box = SecretBox(os.urandom(32))
    first = box.encrypt("sk-123", context="model_config:1")
    assert box.decrypt(first, context="model_config:1") == "sk-123"
    assert box.encrypt("sk-123", context="model_config:1") != first
    assert b"sk-123" not in first


@pytest.mark.parametrize("wrong", ["key", "context", "bytes"])
def test_anything_wrong_fails_to_decrypt(wrong: str) -> None:
    box = SecretBox(os.urandom(32))
    stored = box.encrypt("sk-123", context="a")
    with pytest.raises(UndecryptableSecret):
        if wrong == "key":
            SecretBox(os.urandom(32)).decrypt(stored, context="a")
        elif wrong == "context":
            box.decrypt(stored, context="b")
        else:
            box.decrypt(stored[:-1] + bytes([stored[-1] ^ 1]), context="a")
