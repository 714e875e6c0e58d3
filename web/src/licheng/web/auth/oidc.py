"""Keycloak sign-in: the authorization code flow with PKCE (S256), through Authlib.

The portal is a public client (`licheng-portal`): no secret, the code verifier proves the
callback comes from the browser that started the sign-in. The provider's endpoints come from
its discovery document, fetched once.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.common.security import generate_token  # type: ignore[import-untyped]
from authlib.integrations.httpx_client import AsyncOAuth2Client  # type: ignore[import-untyped]

from licheng.web.sessions import PendingSignIn

SCOPE = "openid profile"


class OidcProvider:
    """Keycloak's realm as an OpenID provider for the portal."""

    def __init__(self, *, issuer: str, client_id: str, redirect_uri: str) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self._metadata: dict[str, Any] | None = None

    async def metadata(self) -> dict[str, Any]:
        """The discovery document (cached)."""
        if self._metadata is None:
            async with httpx.AsyncClient(timeout=10) as client:
                response = await client.get(f"{self.issuer}/.well-known/openid-configuration")
                response.raise_for_status()
                self._metadata = dict(response.json())
        return self._metadata

    def _client(self) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.client_id,
            redirect_uri=self.redirect_uri,
            scope=SCOPE,
            code_challenge_method="S256",
            timeout=10,
        )

    async def start(self, *, next_path: str) -> tuple[str, PendingSignIn]:
        """Where to send the browser, and what to remember until it comes back."""
        metadata = await self.metadata()
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
        async with self._client() as client:
            token = await client.fetch_token(
                metadata["token_endpoint"],
                code=code,
                code_verifier=pending.code_verifier,
                redirect_uri=self.redirect_uri,
            )
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
