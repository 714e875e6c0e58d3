"""`licheng-guidance prestart | serve | sweep-objects`."""

from __future__ import annotations

from pathlib import Path

from licheng.guidance.app import OBJECT_REFERENCES
from licheng.guidance.settings import Settings
from licheng.kit.cli import run_service_cli

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def main() -> None:
    """Entry point."""
    run_service_cli(
        name="guidance",
        app_factory="licheng.guidance.app:create_app",
        settings_factory=Settings,
        migrations_dir=MIGRATIONS_DIR,
        object_references=OBJECT_REFERENCES,
    )
