"""Who is calling: the verified token, if any, and the client's address.

The token is verified once per request, here; rate limiting keys on its subject and the
routes reuse the verdict to answer 401. A token already verified is remembered until it expires
(`VerifiedTokens`): the same student's token arrives with every click, and checking its RS256
signature each time was a tenth of the gateway's work.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import Request

from licheng.kit.auth import bearer_token
from licheng.kit.errors import Unauthorized


class Verifier(Protocol):
    async def verify(self, token: str) -> dict[str, Any]: ...


class VerifiedTokens:
    """A token verifier that remembers the tokens it accepted until they expire.

    Only accepted tokens are kept (a refused one is checked again each time), each until its
    `exp` plus the verifier's leeway: exactly as long as verifying it afresh would accept it.
    At most `size` tokens are kept; the oldest go first.
    """

    def __init__(self, verifier: Verifier, *, size: int = 4096, leeway_seconds: float = 10.0):
        self._verifier = verifier
        self._size = size
        self._leeway = leeway_seconds
        self._accepted: dict[str, tuple[dict[str, Any], float]] = {}

    async def verify(self, token: str) -> dict[str, Any]:
        """The token's claims; raise Unauthorized as the verifier does."""
        accepted = self._accepted.get(token)
        if accepted is not None:
            claims, usable_until = accepted
            if time.time() < usable_until:
                return claims
            del self._accepted[token]
        claims = await self._verifier.verify(token)
        if len(self._accepted) >= self._size:
            del self._accepted[next(iter(self._accepted))]
        self._accepted[token] = (claims, float(claims["exp"]) + self._leeway)
        return claims


@dataclass(frozen=True)
class Caller:
    """The verified claims (None without a valid token), why not, and the client address."""

    claims: dict[str, Any] | None
    auth_error: Unauthorized | None
    address: str

    @property
    def subject(self) -> str | None:
        """The token's `sub`, when the token is valid."""
        return None if self.claims is None else str(self.claims["sub"])

    def require_token(self) -> None:
        """Raise the 401 this request deserves unless it carries a valid token."""
        if self.claims is None:
            raise self.auth_error or Unauthorized()


def client_address(request: Request, trusted_proxy_hops: int) -> str:
    """The client's address: the peer, or the entry the nearest trusted proxy appended."""
    peer = request.client.host if request.client else "unknown"
    if trusted_proxy_hops == 0:
        return peer
    chain = [
        entry.strip()
        for value in request.headers.getlist("x-forwarded-for")
        for entry in value.split(",")
        if entry.strip()
    ]
    # Only the last `hops` entries were written by proxies we trust; anything left of them
    # came from the client and may be made up.
    chain.append(peer)
    candidate = chain[max(0, len(chain) - 1 - trusted_proxy_hops)]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return peer


async def identify(request: Request, verifier: Verifier, *, trusted_proxy_hops: int) -> Caller:
    """Verify the bearer token if there is one; never raises for a missing or bad token."""
    address = client_address(request, trusted_proxy_hops)
    try:
        claims = await verifier.verify(bearer_token(request))
    except Unauthorized as exc:
        return Caller(claims=None, auth_error=exc, address=address)
    return Caller(claims=claims, auth_error=None, address=address)
