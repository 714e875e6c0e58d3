"""Settings refuse development secrets and shortcuts outside development and test."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from licheng.identity.settings import Settings as IdentitySettings

PRODUCTION_SECRETS = {
    "LICHENG_IDENTITY_ENVIRONMENT": "production",
    "LICHENG_IDENTITY_S3_SECRET_KEY": "a-real-secret-from-the-vault",
    "LICHENG_IDENTITY_PII_ENCRYPTION_KEY": "cmVhbC1rZXktcmVhbC1rZXktcmVhbC1rZXktMzJiISE=",
    "LICHENG_IDENTITY_PII_INDEX_KEY": "YW5vdGhlci1yZWFsLWluZGV4LWtleS0zMi1ieXRlcyE=",
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
        ("LICHENG_IDENTITY_PII_ENCRYPTION_KEY", "password1", "32 random bytes"),
        ("LICHENG_IDENTITY_PII_INDEX_KEY", "c2hvcnQ=", "32 random bytes"),
        ("LICHENG_IDENTITY_SEED_DEMO", "true", "demo data"),
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


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_development_sign_in_is_off_and_refused_outside_development(
    monkeypatch: pytest.MonkeyPatch, environment: str
) -> None:
    secrets = {k: v for k, v in PRODUCTION_SECRETS.items() if "DEV_ISSUER" not in k}
    _env(monkeypatch, {**secrets, "LICHENG_IDENTITY_ENVIRONMENT": environment})
    assert IdentitySettings().dev_issuer_enabled is False
    monkeypatch.setenv("LICHENG_IDENTITY_DEV_ISSUER_ENABLED", "true")
    with pytest.raises(ValidationError, match="development token issuer"):
        IdentitySettings()


@pytest.mark.parametrize("environment", ["development", "test"])
def test_development_sign_in_is_on_by_default_in_development_and_test(
    monkeypatch: pytest.MonkeyPatch, environment: str
) -> None:
    monkeypatch.setenv("LICHENG_IDENTITY_ENVIRONMENT", environment)
    assert IdentitySettings().dev_issuer_enabled is True
