"""`licheng-gateway serve`."""

from __future__ import annotations

from licheng.gateway.settings import Settings
from licheng.kit.cli import run_service_cli


def main() -> None:
    """Entry point."""
    run_service_cli(
        name="gateway",
        app_factory="licheng.gateway.app:create_app",
        settings_factory=Settings,
        migrations_dir=None,
    )
