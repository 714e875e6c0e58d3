"""Service tokens through OAuth2 client credentials, for one service calling another.

`ClientCredentials` asks the token endpoint (Keycloak's, or identity's development issuer in the
embedded run) for an access token and keeps it until shortly before it expires; concurrent
callers share one request. The client secret never appears in a message, a log or a repr.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass

import httpx
import structlog
from pydantic import SecretStr

from licheng.kit.errors import ServiceUnavailable

log = structlog.get_logger("licheng.service_tokens")

REFRESH_MARGIN_SECONDS = 30.0
_TIMEOUT_SECONDS = 10.0
_OAUTH_ERROR = re.compile(r"[a-z_]{1,60}")  # an OAuth error code such as invalid_client


class ServiceTokenError(ServiceUnavailable):
    """The token endpoint handed out no token: unreachable, refusing the client, or garbled."""

    code = "service_token_unavailable"
    default_message = "無法取得系統服務憑證，請稍後再試"

    def __init__(self, message: str, *, status: int | None = None, oauth_error: str = "") -> None:
        super().__init__(message, detail={"status": status, "oauth_error": oauth_error or None})
        self.status = status
        self.oauth_error = oauth_error


@dataclass(frozen=True)
class _CachedToken:
    value: str
    refresh_at: float  # time.monotonic() after which a new token is fetched


class ClientCredentials:
    """Access tokens for one OAuth2 client (client-credentials grant), cached until near expiry."""

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: SecretStr,
        http: httpx.AsyncClient | None = None,
        refresh_margin_seconds: float = REFRESH_MARGIN_SECONDS,
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self._secret = client_secret
        self._http = http
        self._margin = refresh_margin_seconds
        self._cached: _CachedToken | None = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"ClientCredentials(token_url={self.token_url!r}, client_id={self.client_id!r})"

    async def token(self) -> str:
        """A valid access token: the cached one, or a fresh one (one request at a time)."""
        cached = self._cached
        if cached is not None and time.monotonic() < cached.refresh_at:
            return cached.value
        async with self._lock:
            cached = self._cached
            if cached is not None and time.monotonic() < cached.refresh_at:
                return cached.value  # another caller refreshed it while we waited
            self._cached = await self._fetch()
            return self._cached.value

    def invalidate(self) -> None:
        """Forget the cached token (e.g. after a service refused it); the next call fetches."""
        self._cached = None

    async def _fetch(self) -> _CachedToken:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._secret.get_secret_value(),
        }
        started = time.monotonic()
        try:
            if self._http is not None:
                response = await self._http.post(self.token_url, data=form)
            else:
                async with httpx.AsyncClient(timeout=_TIMEOUT_SECONDS) as client:
                    response = await client.post(self.token_url, data=form)
        except httpx.HTTPError as exc:
            log.warning(
                "service_token.unreachable", client_id=self.client_id, error=type(exc).__name__
            )
            raise ServiceTokenError("無法連線至系統服務憑證的簽發端，請稍後再試") from exc
        if response.status_code != 200:
            oauth_error = _oauth_error(response)
            log.warning(
                "service_token.refused",
                client_id=self.client_id,
                status=response.status_code,
                oauth_error=oauth_error,
            )
            raise ServiceTokenError(
                f"系統服務憑證的簽發端拒絕發給憑證（HTTP {response.status_code}"
                + (f"，{oauth_error}" if oauth_error else "")
                + "）",
                status=response.status_code,
                oauth_error=oauth_error,
            )
        try:
            body = response.json()
            value = body["access_token"]
            lifetime = float(body["expires_in"])
        except (ValueError, KeyError, TypeError):
            raise ServiceTokenError(
                "系統服務憑證的簽發端回應格式有誤", status=response.status_code
            ) from None
        if not isinstance(value, str) or not value or lifetime <= 0:
            raise ServiceTokenError("系統服務憑證的簽發端回應格式有誤", status=response.status_code)
        # Measured from before the request, so the token is renewed `margin` seconds early even
        # when the endpoint was slow to answer.
        return _CachedToken(value=value, refresh_at=started + lifetime - self._margin)


def _oauth_error(response: httpx.Response) -> str:
    """The OAuth `error` code of a refusal (never its description, which may echo input)."""
    try:
        body = response.json()
    except ValueError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, str) and _OAUTH_ERROR.fullmatch(error) else ""
