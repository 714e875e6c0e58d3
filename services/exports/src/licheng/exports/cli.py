"""`licheng-exports prestart | serve | worker | sweep-objects`."""

from __future__ import annotations

from pathlib import Path

from licheng.exports.settings import Settings
from licheng.exports.worker import OBJECT_REFERENCES
from licheng.kit.cli import run_service_cli

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def main() -> None:
    """Entry point."""
    run_service_cli(
        name="exports",
        app_factory="licheng.exports.app:create_app",
        settings_factory=Settings,
        migrations_dir=MIGRATIONS_DIR,
        object_references=OBJECT_REFERENCES,
        more_apps={"worker": "licheng.exports.worker:create_worker_app"},
    )
