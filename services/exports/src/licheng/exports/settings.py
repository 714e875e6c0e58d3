"""Settings of the exports service (environment prefix `LICHENG_EXPORTS_`)."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from licheng.kit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(extra="ignore", env_prefix="LICHENG_EXPORTS_")

    port: int = 8105
    database_url: str = "sqlite+aiosqlite:///./var/local/exports.db"
    # Identity, called directly (never through the gateway) for 身分證號 and 出生日期.
    identity_url: str = "http://127.0.0.1:8101"
    # The OAuth2 token endpoint for our service account (client credentials): identity's
    # development issuer here; Keycloak's `…/realms/<realm>/protocol/openid-connect/token`
    # in production.
    token_url: str = "http://127.0.0.1:8101/api/identity/v1/dev-auth/service-token"  # noqa: S105
    client_id: str = "licheng-exports"
    client_secret: SecretStr = SecretStr("licheng-dev-service-secret")
    # The roster saga and its jobs.
    lock_timeout_seconds: float = 120.0  # the owner must lock within this, or the run fails
    sweep_interval_seconds: float = 5.0
    job_ack_wait_seconds: float = 60.0  # a silent worker's job goes to another after this
    job_max_attempts: int = 3  # a job failing this often ends failed, with its reason
    download_ttl_seconds: int = 300  # presigned download links live this long
