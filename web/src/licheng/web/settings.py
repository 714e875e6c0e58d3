"""Portal settings (environment prefix `LICHENG_WEB_`).

Sign-in is OpenID Connect against Keycloak (`oidc_issuer`, the public PKCE client
`licheng-portal`) or, when `oidc_issuer` is empty in development and test, a sign-in form
against identity's development issuer (the embedded run needs no Keycloak).
"""

from __future__ import annotations

from typing import Self

from pydantic import SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from licheng.kit.settings import RELAXED_ENVIRONMENTS, ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(extra="ignore", env_prefix="LICHENG_WEB_")

    port: int = 8090
    # The gateway the portal calls for every API request (server to server).
    gateway_url: str = "http://127.0.0.1:8000"
    # The portal's address as the browser sees it (the gateway's public address).
    public_url: str = "http://127.0.0.1:8000"
    # Keycloak's realm URL, e.g. http://127.0.0.1:18080/realms/licheng; empty: development sign-in.
    oidc_issuer: str = ""
    oidc_client_id: str = "licheng-portal"
    # Before sending a browser to Keycloak, check its discovery document again when the kept
    # copy is older than this: a Keycloak that is down gets the portal's own 503 page.
    oidc_recheck_seconds: float = 30.0
    # Signs the sign-in form's CSRF cookie; sessions themselves are random ids kept in NATS KV.
    session_secret: SecretStr = SecretStr("licheng-dev-portal-secret")
    session_ttl_seconds: int = 8 * 3600
    sessions_bucket: str = "web_sessions"
    # Refresh the access token when it has less than this left.
    refresh_margin_seconds: int = 60

    @property
    def development_sign_in(self) -> bool:
        """True when people sign in with the development issuer's form."""
        return not self.oidc_issuer

    @property
    def secure_cookies(self) -> bool:
        """Cookies marked Secure when the portal is served over https."""
        return self.public_url.startswith("https://")

    @model_validator(mode="after")
    def _development_sign_in_only_in_development(self) -> Self:
        if not self.oidc_issuer and self.environment not in RELAXED_ENVIRONMENTS:
            raise ValueError("oidc_issuer is required outside development and test")
        return self
