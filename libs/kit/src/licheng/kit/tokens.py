"""RS256 signing and JWKS publishing, for issuers we run ourselves.

Identity's development issuer (embedded mode) and the test suite sign tokens with this; every
verifier treats them exactly like Keycloak's.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import jwt
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
