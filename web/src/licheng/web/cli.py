"""`licheng-web serve`."""

from __future__ import annotations

from licheng.kit.cli import run_service_cli
from licheng.web.settings import Settings


def main() -> None:
    """Entry point."""
    run_service_cli(
        name="web",
        app_factory="licheng.web.app:create_app",
        settings_factory=Settings,
        migrations_dir=None,
    )
