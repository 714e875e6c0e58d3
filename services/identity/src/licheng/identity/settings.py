"""Settings of the identity service (environment prefix `LICHENG_IDENTITY_`)."""

from __future__ import annotations

from typing import Self

from pydantic import SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from licheng.kit.settings import Environment, ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(extra="ignore", env_prefix="LICHENG_IDENTITY_")

    port: int = 8101
    database_url: str = "sqlite+aiosqlite:///./var/local/identity.db"
    # 身分證號 and birth dates: AES-GCM key and the blind-index HMAC key (base64 of 32 bytes).
    pii_encryption_key: SecretStr = SecretStr("development-only-pii-encryption-key")
    pii_index_key: SecretStr = SecretStr("development-only-pii-index-key")
    # Keycloak admin API for the directory sync; empty URL = embedded mode, no sync.
    keycloak_url: str = ""
    keycloak_realm: str = "licheng"
    keycloak_client_id: str = "licheng-identity"
    keycloak_client_secret: SecretStr = SecretStr("identity-dev-secret")
    # Development and test only: the password new Keycloak users get so demos can sign in.
    keycloak_initial_password: str | None = None
    # The development token issuer (embedded mode): signs tokens for identity's own people.
    dev_issuer_enabled: bool = True
    dev_password: str = "demo"  # noqa: S105  (development sign-in only; off in production)
    # Development only: create the demo school and its people at start-up (the local run).
    seed_demo: bool = False

    @model_validator(mode="after")
    def _no_development_shortcuts_in_production(self) -> Self:
        if self.environment == Environment.PRODUCTION:
            if self.dev_issuer_enabled:
                raise ValueError("the development token issuer refuses to run in production")
            if self.seed_demo:
                raise ValueError("demo data is for development only")
            if self.keycloak_initial_password:
                raise ValueError("keycloak_initial_password is for development and test only")
        return self
