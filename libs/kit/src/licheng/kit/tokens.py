"""RS256 signing and JWKS publishing, for issuers we run ourselves.

Identity's development issuer (embedded mode) and the test suite sign tokens with this; every
verifier treats them exactly like Keycloak's.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from licheng.kit.auth import ALGORITHM


class RsaSigner:
    """An RSA key pair with a key id, able to mint tokens and publish its JWKS."""

    def __init__(self, private_key: rsa.RSAPrivateKey | None = None, kid: str | None = None):
        self.private_key = private_key or rsa.generate_private_key(
            public_exponent=65537, key_size=2048
        )
        self.kid = kid or uuid.uuid4().hex

    @classmethod
    def from_key_file(cls, path: Path) -> RsaSigner:
        """The key kept in `path` (PEM), created there (mode 0600) on first use."""
        if path.exists():
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(key, rsa.RSAPrivateKey):
                raise ValueError(f"{path} does not hold an RSA private key")
        else:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(pem)
        public = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return cls(key, kid=hashlib.sha256(public).hexdigest()[:32])

    def jwk(self) -> dict[str, Any]:
        """The public key as a JWK."""
        public: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private_key.public_key()))
        return {**public, "kid": self.kid, "use": "sig", "alg": ALGORITHM}

    def jwks(self) -> dict[str, Any]:
        """The JWKS document verifiers fetch."""
        return {"keys": [self.jwk()]}

    def mint(self, claims: dict[str, Any], *, lifetime_seconds: int = 300) -> str:
        """A signed token with `iat`/`exp` filled in unless given."""
        now = int(time.time())
        payload = {"iat": now, "exp": now + lifetime_seconds, **claims}
        return jwt.encode(payload, self.private_key, algorithm=ALGORITHM, headers={"kid": self.kid})
