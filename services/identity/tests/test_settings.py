"""Settings refuse development secrets outside development and test."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from licheng.identity.settings import Settings as IdentitySettings


def test_production_refuses_the_default_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LICHENG_IDENTITY_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="s3_secret_key still has its development default"):
        IdentitySettings()


def test_production_starts_with_real_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LICHENG_IDENTITY_ENVIRONMENT", "production")
    monkeypatch.setenv("LICHENG_IDENTITY_S3_SECRET_KEY", "a-real-secret-from-the-vault")
    settings = IdentitySettings()
    assert settings.s3_secret_key.get_secret_value() == "a-real-secret-from-the-vault"


def test_development_keeps_defaults_and_own_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LICHENG_IDENTITY_PORT", "9101")
    monkeypatch.setenv("LICHENG_GUIDANCE_PORT", "9999")  # another service's prefix: ignored
    settings = IdentitySettings()
    assert settings.environment == "development"
    assert settings.port == 9101
