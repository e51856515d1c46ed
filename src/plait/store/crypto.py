"""AES-GCM for secrets at rest (provider API keys in `model_configs.encrypted_key`).

Stored form: 12-byte random nonce + ciphertext with its tag. The row id is bound in as associated data, so a
ciphertext copied onto another row does not decrypt.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


class UndecryptableSecret(ValueError):
    """The stored secret does not open with this key: the server's secret key changed, or the bytes did."""


class SecretBox:
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: str, *, context: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext.encode(), context.encode())

    def decrypt(self, stored: bytes, *, context: str) -> str:
        """Raises `UndecryptableSecret` for a wrong key, context or tampered bytes."""
        try:
            return self._aead.decrypt(stored[:NONCE_BYTES], stored[NONCE_BYTES:], context.encode()).decode()
        except InvalidTag:
            raise UndecryptableSecret(f"the secret of {context} does not decrypt with this key") from None
