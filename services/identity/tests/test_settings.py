"""Settings refuse development secrets and shortcuts outside development and test."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from licheng.identity.settings import Settings as IdentitySettings

PRODUCTION_SECRETS = {
    "LICHENG_IDENTITY_ENVIRONMENT": "production",
    "LICHENG_IDENTITY_S3_SECRET_KEY": "a-real-secret-from-the-vault",
    "LICHENG_IDENTITY_PII_ENCRYPTION_KEY": "cmVhbC1rZXktcmVhbC1rZXktcmVhbC1rZXktMzJi",
    "LICHENG_IDENTITY_PII_INDEX_KEY": "another-real-index-key",
    "LICHENG_IDENTITY_KEYCLOAK_CLIENT_SECRET": "real-client-secret",
    "LICHENG_IDENTITY_DEV_ISSUER_ENABLED": "false",
}


def _env(monkeypatch: pytest.MonkeyPatch, values: dict[str, str]) -> None:
    for key, value in values.items():
        monkeypatch.setenv(key, value)


def test_production_refuses_the_default_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LICHENG_IDENTITY_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="still has its development default"):
        IdentitySettings()


def test_production_starts_with_real_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    _env(monkeypatch, PRODUCTION_SECRETS)
    settings = IdentitySettings()
    assert settings.s3_secret_key.get_secret_value() == "a-real-secret-from-the-vault"
    assert settings.dev_issuer_enabled is False


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("LICHENG_IDENTITY_PII_INDEX_KEY", "development-only-pii-index-key", "pii_index_key"),
        ("LICHENG_IDENTITY_DEV_ISSUER_ENABLED", "true", "development token issuer"),
        ("LICHENG_IDENTITY_KEYCLOAK_INITIAL_PASSWORD", "demo", "keycloak_initial_password"),
    ],
)
def test_production_refuses_each_development_shortcut(
    monkeypatch: pytest.MonkeyPatch, key: str, value: str, message: str
) -> None:
    _env(monkeypatch, {**PRODUCTION_SECRETS, key: value})
    with pytest.raises(ValidationError, match=message):
        IdentitySettings()


def test_development_keeps_defaults_and_own_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LICHENG_IDENTITY_PORT", "9101")
    monkeypatch.setenv("LICHENG_GUIDANCE_PORT", "9999")  # another service's prefix: ignored
    settings = IdentitySettings()
    assert settings.environment == "development"
    assert settings.port == 9101
