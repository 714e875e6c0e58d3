"""Personal identifiers at rest: AES-GCM encryption plus an HMAC blind index for look-ups.

身分證號 and birth dates live only here, encrypted; the blind index lets us find a person by
身分證號 without decrypting every row. Neither value ever leaves identity except through the
audited internal endpoint.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


def _key(material: str) -> bytes:
    """A 32-byte key from settings: base64 of 32 bytes, or (development only: the settings
    refuse it elsewhere) a passphrase, hashed."""
    try:
        raw = base64.b64decode(material, validate=True)
    except ValueError:
        raw = b""
    return raw if len(raw) == 32 else hashlib.sha256(material.encode()).digest()


class PiiCipher:
    """Encrypts and decrypts personal identifiers; computes their blind index."""

    def __init__(self, *, encryption_key: str, index_key: str) -> None:
        self._aead = AESGCM(_key(encryption_key))
        self._index_key = _key(index_key)

    def encrypt(self, value: str, *, context: str) -> bytes:
        """Nonce + ciphertext; `context` (e.g. the field name) is bound as associated data."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, value.encode(), context.encode())

    def decrypt(self, blob: bytes, *, context: str) -> str:
        """The plaintext of `encrypt`'s output."""
        return self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], context.encode()).decode()

    def blind_index(self, value: str, *, context: str) -> str:
        """A keyed hash for equality look-ups; useless without the index key."""
        message = f"{context}:{value}".encode()
        return hmac.new(self._index_key, message, hashlib.sha256).hexdigest()


def mask_national_id(value: str) -> str:
    """`A123456789` → `A1******89`: enough to tell two students apart, not to rebuild the number
    (with the checksum, six shown characters would leave about a thousand candidates)."""
    return value[:2] + "*" * max(len(value) - 4, 2) + value[-2:] if len(value) > 4 else "*" * 6


def mask_birth_date(value: str) -> str:
    """`2008-05-01` → `****-**-01`: enough to recognise, not to identify."""
    return "****-**-" + value[-2:] if len(value) >= 2 else "****"
