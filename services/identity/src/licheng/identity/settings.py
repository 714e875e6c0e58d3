"""Settings of the identity service (environment prefix `LICHENG_IDENTITY_`)."""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from licheng.kit.settings import RELAXED_ENVIRONMENTS, ServiceSettings


def _is_32_random_bytes(material: str) -> bool:
    try:
        return len(base64.b64decode(material, validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


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
    # Unset = on in development and test, off elsewhere; turning it on elsewhere is refused.
    dev_issuer_enabled: bool | None = None
    dev_password: str = "demo"  # noqa: S105  (development sign-in only; off in production)
    # Service accounts the development issuer knows (client id -> secret), standing in for
    # Keycloak's confidential clients: `POST …/dev-auth/service-token`. Never consulted outside
    # development and test, where the issuer itself is refused.
    dev_service_clients: dict[str, SecretStr] = Field(
        default_factory=lambda: {"licheng-exports": SecretStr("licheng-dev-service-secret")}
    )
    # Where the development issuer keeps its signing key, so tokens survive a restart
    # (unset: a new key at every start). Development and test only.
    dev_issuer_key_file: Path | None = None
    # Development only: create the demo school and its people at start-up (the local run).
    seed_demo: bool = False

    @model_validator(mode="after")
    def _no_development_shortcuts_outside_development(self) -> Self:
        relaxed = self.environment in RELAXED_ENVIRONMENTS
        if self.dev_issuer_enabled is None:
            self.dev_issuer_enabled = relaxed
        if relaxed:
            return self
        where = f"environment {self.environment.value}"
        if self.dev_issuer_enabled:
            raise ValueError(f"the development token issuer refuses to run in {where}")
        if self.seed_demo:
            raise ValueError(f"demo data is for development only, not {where}")
        if self.keycloak_initial_password:
            raise ValueError(f"keycloak_initial_password is for development and test, not {where}")
        for name in ("pii_encryption_key", "pii_index_key"):
            if not _is_32_random_bytes(getattr(self, name).get_secret_value()):
                raise ValueError(
                    f"{name} must be base64 of 32 random bytes in {where} "
                    "(e.g. `openssl rand -base64 32`); passphrases are for development only"
                )
        return self
