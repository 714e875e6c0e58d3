"""Settings every service shares; each service subclasses with its own env prefix.

Secrets keep a development default so the one-command local run works, and a service refuses
to start with any of those defaults outside development and test.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    STAGING = "staging"
    PRODUCTION = "production"


RELAXED_ENVIRONMENTS = frozenset({Environment.DEVELOPMENT, Environment.TEST})


class ServiceSettings(BaseSettings):
    """Infrastructure settings; a service adds its own fields and `env_prefix`."""

    model_config = SettingsConfigDict(extra="ignore", env_prefix="LICHENG_")

    environment: Environment = Environment.DEVELOPMENT
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""
    database_url: str = "sqlite+aiosqlite:///./var/local/service.db"
    # Connections per process: `pool_size` kept open, `max_overflow` more under load; a request
    # waits `database_pool_timeout_seconds` for one, then answers 503 `database_busy`. Sum
    # (pool_size + max_overflow) over every service process under PostgreSQL's max_connections
    # (300 in deploy/infra), leaving room for migrations and psql. See docs/architecture.md.
    database_pool_size: int = 10
    database_max_overflow: int = 10
    database_pool_timeout_seconds: float = 10.0
    nats_url: str = "nats://127.0.0.1:4222"
    # Servers of the JetStream cluster that keep each stream: 3 in a district's cluster
    # (deploy/helm), 1 on the single nats-server of the embedded run and the tests.
    nats_stream_replicas: int = Field(default=1, ge=1, le=5)
    s3_endpoint: str = "127.0.0.1:8333"
    s3_access_key: str = "licheng"
    s3_secret_key: SecretStr = SecretStr("licheng-dev-secret")
    s3_secure: bool = False
    s3_region: str = "us-east-1"
    uploads_bucket: str = "licheng-uploads"
    exports_bucket: str = "licheng-exports"
    jwks_url: str = "http://127.0.0.1:8101/api/identity/v1/dev-auth/jwks"
    jwt_issuer: str = "http://127.0.0.1:8101/dev-issuer"
    jwt_audience: str = "licheng"
    log_level: str = "INFO"
    log_json: bool = True
    # Above the gateway's largest route limit (imports, 20 MiB), for callers that bypass it.
    max_body_bytes: int = 24 * 1024 * 1024
    startup_timeout_seconds: float = 30.0
    # An Idempotency-Key whose request left it unanswered this long (its process was killed)
    # may be taken over by a retry: keep it above the longest a request may run (the gateway
    # gives up after 30 s). See licheng.kit.idempotency.
    idempotency_takeover_seconds: float = Field(default=120.0, ge=0)
    # How long an idle kept-alive HTTP connection stays open (uvicorn's default is 5 s).
    keep_alive_seconds: int = Field(default=75, ge=1)
    outbox_poll_seconds: float = 0.2
    # Published outbox rows are kept this long (for an operator tracing an event), then deleted
    # by the relay, at most every `outbox_prune_interval_seconds`. JetStream holds the events
    # themselves; an unpublished row is never pruned.
    outbox_retention_hours: float = Field(default=168.0, gt=0)
    outbox_prune_interval_seconds: float = Field(default=600.0, gt=0)
    # An object this service put is removed once nothing has referenced it for the grace
    # period (and it is at least that old), checked every `object_sweep_interval_seconds`
    # (licheng.kit.object_sweep; docs/reliability.md).
    object_sweep_grace_hours: float = Field(default=24.0, ge=0)
    object_sweep_interval_seconds: float = Field(default=3600.0, gt=0)

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Self:
        if self.environment in RELAXED_ENVIRONMENTS:
            return self
        for name, field in type(self).model_fields.items():
            value = getattr(self, name)
            default = field.default
            if (
                isinstance(value, SecretStr)
                and isinstance(default, SecretStr)
                and value.get_secret_value() == default.get_secret_value()
            ):
                raise ValueError(
                    f"{name} still has its development default; "
                    f"set a real secret for environment {self.environment.value}"
                )
        return self
