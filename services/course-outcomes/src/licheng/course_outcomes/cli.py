"""`licheng-course-outcomes prestart | serve | sweep-objects`."""

from __future__ import annotations

from pathlib import Path

from licheng.course_outcomes.app import OBJECT_REFERENCES
from licheng.course_outcomes.settings import Settings
from licheng.kit.cli import run_service_cli

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def main() -> None:
    """Entry point."""
    run_service_cli(
        name="course_outcomes",
        app_factory="licheng.course_outcomes.app:create_app",
        settings_factory=Settings,
        migrations_dir=MIGRATIONS_DIR,
        object_references=OBJECT_REFERENCES,
    )
