"""AES-GCM for secrets at rest (provider API keys in `model_configs.encrypted_key`, plugin secrets in
`plugins.encrypted_secret`).

Stored form: 12-byte random nonce + ciphertext with its tag. The row id is bound in as associated data, so a
ciphertext copied onto another row does not decrypt. A box holds a key ring: the first key encrypts, every key
decrypts, so secrets stored under a previous key stay readable while a rotation re-encrypts them.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


class UndecryptableSecret(ValueError):
    """The stored secret does not open with any key: the server's secret key changed, or the bytes did."""


class SecretBox:
    def __init__(self, key: bytes, *previous: bytes) -> None:
        self._aeads = [AESGCM(k) for k in (key, *previous)]

    def encrypt(self, plaintext: str, *, context: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aeads[0].encrypt(nonce, plaintext.encode(), context.encode())

    def decrypt(self, stored: bytes, *, context: str) -> str:
        """Raises `UndecryptableSecret` for a wrong key, context or tampered bytes."""
        return self._open(stored, context)[1]

    def rotated(self, stored: bytes, *, context: str) -> bytes | None:
        """``stored`` encrypted under the first key; None when it already is. Raises `UndecryptableSecret`."""
        index, plaintext = self._open(stored, context)
        return None if index == 0 else self.encrypt(plaintext, context=context)

    def _open(self, stored: bytes, context: str) -> tuple[int, str]:
        for index, aead in enumerate(self._aeads):
            try:
                return index, aead.decrypt(stored[:NONCE_BYTES], stored[NONCE_BYTES:], context.encode()).decode()
            except InvalidTag:
                continue
        raise UndecryptableSecret(f"the secret of {context} does not decrypt with this key")
