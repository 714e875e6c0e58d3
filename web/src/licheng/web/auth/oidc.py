"""Keycloak sign-in: the authorization code flow with PKCE (S256), through Authlib.

The portal is a public client (`licheng-portal`): no secret, the code verifier proves the
callback comes from the browser that started the sign-in. The provider's endpoints come from
its discovery document, fetched at the first sign-in and checked again before a sign-in when
it is older than `recheck_seconds`: when Keycloak cannot be reached, the portal says so on its
own page (`KeycloakUnavailable`, answered 503) instead of sending the browser to a dead address
or failing with a 500. People already signed in are not affected: their tokens are checked
against the keys the services keep.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
from authlib.common.security import generate_token  # type: ignore[import-untyped]
from authlib.integrations.httpx_client import AsyncOAuth2Client  # type: ignore[import-untyped]

from licheng.web.sessions import PendingSignIn

SCOPE = "openid profile"
TIMEOUT_SECONDS = 5.0
T = TypeVar("T")


async def _connecting_twice(call: Callable[[], Awaitable[T]]) -> T:
    """`call()`, made once more when its connection could not even be opened (a busy Keycloak's
    full accept queue): nothing reached Keycloak, so a code is not spent by trying again."""
    try:
        return await call()
    except (httpx.ConnectError, httpx.ConnectTimeout):
        return await call()


class KeycloakUnavailable(Exception):
    """Keycloak could not be reached (or answered with a server error)."""


class OidcProvider:
    """Keycloak's realm as an OpenID provider for the portal."""

    def __init__(
        self, *, issuer: str, client_id: str, redirect_uri: str, recheck_seconds: float = 30.0
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self.recheck_seconds = recheck_seconds
        self._metadata: dict[str, Any] | None = None
        self._checked_at = float("-inf")
        self._failed_at = float("-inf")
        self._fetching = asyncio.Lock()  # one fetch at a time, however many sign in at once

    async def metadata(self, *, recheck: bool = False) -> dict[str, Any]:
        """The discovery document: cached; fetched again when `recheck` and it is older than
        `recheck_seconds`. Raises KeycloakUnavailable when it cannot be fetched."""
        asked_at = time.monotonic()
        if self._metadata is not None and not self._due(recheck, asked_at):
            return self._metadata
        async with self._fetching:
            if self._metadata is not None and self._checked_at >= asked_at:
                return self._metadata  # fetched by another sign-in meanwhile
            if self._failed_at >= asked_at:  # another sign-in just found Keycloak down
                raise KeycloakUnavailable("unreachable")
            try:
                async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
                    response = await _connecting_twice(
                        lambda: client.get(f"{self.issuer}/.well-known/openid-configuration")
                    )
                    response.raise_for_status()
            except httpx.HTTPError as error:
                self._failed_at = time.monotonic()
                raise KeycloakUnavailable(type(error).__name__) from error
            self._metadata = dict(response.json())
            self._checked_at = time.monotonic()
            return self._metadata

    def _due(self, recheck: bool, now: float) -> bool:
        return recheck and now - self._checked_at >= self.recheck_seconds

    def _client(self) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.client_id,
            redirect_uri=self.redirect_uri,
            scope=SCOPE,
            code_challenge_method="S256",
            timeout=TIMEOUT_SECONDS,
        )

    async def start(self, *, next_path: str) -> tuple[str, PendingSignIn]:
        """Where to send the browser, and what to remember until it comes back."""
        metadata = await self.metadata(recheck=True)  # not into a Keycloak that is down
        verifier, nonce = generate_token(48), generate_token(24)
        async with self._client() as client:
            url, state = client.create_authorization_url(
                metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce
            )
        return url, PendingSignIn(
            state=state, code_verifier=verifier, nonce=nonce, next_path=next_path
        )

    async def finish(self, *, code: str, pending: PendingSignIn) -> dict[str, Any]:
        """Exchange the code for tokens."""
        metadata = await self.metadata()
        try:
            async with self._client() as client:
                token = await _connecting_twice(
                    lambda: client.fetch_token(
                        metadata["token_endpoint"],
                        code=code,
                        code_verifier=pending.code_verifier,
                        redirect_uri=self.redirect_uri,
                    )
                )
        except httpx.TransportError as error:
            raise KeycloakUnavailable(type(error).__name__) from error
        return dict(token)

    async def refresh(self, refresh_token: str) -> dict[str, Any]:
        """New tokens for a refresh token."""
        metadata = await self.metadata()
        async with self._client() as client:
            token = await client.refresh_token(
                metadata["token_endpoint"], refresh_token=refresh_token
            )
        return dict(token)

    async def sign_out_url(self, *, id_token: str | None, after: str) -> str:
        """Keycloak's end-session address, returning the browser to `after`."""
        metadata = await self.metadata()
        query = {"client_id": self.client_id, "post_logout_redirect_uri": after}
        if id_token:
            query["id_token_hint"] = id_token
        return f"{metadata['end_session_endpoint']}?{urlencode(query)}"
