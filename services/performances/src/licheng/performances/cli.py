"""`licheng-performances prestart | serve | sweep-objects`."""

from __future__ import annotations

from pathlib import Path

from licheng.kit.cli import run_service_cli
from licheng.performances.app import OBJECT_REFERENCES
from licheng.performances.settings import Settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def main() -> None:
    """Entry point."""
    run_service_cli(
        name="performances",
        app_factory="licheng.performances.app:create_app",
        settings_factory=Settings,
        migrations_dir=MIGRATIONS_DIR,
        object_references=OBJECT_REFERENCES,
    )
