"""`licheng-identity prestart | serve`."""

from __future__ import annotations

from pathlib import Path

from licheng.identity.settings import Settings
from licheng.kit.cli import run_service_cli

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def main() -> None:
    """Entry point."""
    run_service_cli(
        name="identity",
        app_factory="licheng.identity.app:create_app",
        settings_factory=Settings,
        migrations_dir=MIGRATIONS_DIR,
    )
