"""The command line every service shares: `prestart` (migrate) and `serve`."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

import uvicorn

from licheng.kit.logging import configure_logging
from licheng.kit.migrations import upgrade_to_head
from licheng.kit.settings import ServiceSettings


def run_service_cli(
    *,
    name: str,
    app_factory: str,
    settings_factory: Callable[[], ServiceSettings],
    migrations_dir: Path | None,
    more_apps: dict[str, str] | None = None,
    argv: Sequence[str] | None = None,
) -> None:
    """Parse `prestart | serve | <more app>` and run it; `more_apps` maps a command to a factory."""
    parser = argparse.ArgumentParser(prog=f"licheng-{name.replace('_', '-')}")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("prestart", help="migrate the database to the newest revision")
    apps = {"serve": app_factory, **(more_apps or {})}
    for command in apps:
        serve = commands.add_parser(command, help=f"run {apps[command]}")
        serve.add_argument("--host", default=None)
        serve.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)

    settings = settings_factory()
    configure_logging(service=name, level=settings.log_level, json=settings.log_json)
    if args.command == "prestart":
        if migrations_dir is not None:
            upgrade_to_head(migrations_dir=migrations_dir, database_url=settings.database_url)
        return
    uvicorn.run(
        apps[args.command],
        factory=True,
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_config=None,
        access_log=False,
        # libuv's event loop and the C HTTP parser: the pure-Python h11 parser and asyncio's
        # own loop cost each request several times the CPU (docs/gateway.md, the figures).
        loop="uvloop",
        http="httptools",
        # Client addresses come from the gateway's own rules, not from forwarded headers.
        proxy_headers=False,
        timeout_graceful_shutdown=10,
        # Keep an idle client connection longer than the proxies in front keep theirs (an
        # ingress, the gateway's pool, a browser): otherwise a client reusing a connection we
        # are just closing gets a broken read instead of an answer.
        timeout_keep_alive=settings.keep_alive_seconds,
    )
