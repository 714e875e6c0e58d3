"""The command line every service shares: `prestart` (migrate), `serve`, and for a service that
sweeps its objects `sweep-objects` (one pass now, licheng.kit.object_sweep)."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path

import uvicorn

from licheng.kit.db import create_engine, create_session_factory
from licheng.kit.logging import configure_logging
from licheng.kit.migrations import upgrade_to_head
from licheng.kit.object_sweep import ObjectReference, ObjectSweeper
from licheng.kit.settings import ServiceSettings
from licheng.kit.storage import ObjectStorage


def run_service_cli(
    *,
    name: str,
    app_factory: str,
    settings_factory: Callable[[], ServiceSettings],
    migrations_dir: Path | None,
    more_apps: dict[str, str] | None = None,
    object_references: Sequence[ObjectReference] = (),
    argv: Sequence[str] | None = None,
) -> None:
    """Parse `prestart | serve | <more app> | sweep-objects` and run it; `more_apps` maps a
    command to a factory; `object_references` (what keeps the service's objects) adds
    `sweep-objects`."""
    parser = argparse.ArgumentParser(prog=f"licheng-{name.replace('_', '-')}")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("prestart", help="migrate the database to the newest revision")
    apps = {"serve": app_factory, **(more_apps or {})}
    for command in apps:
        serve = commands.add_parser(command, help=f"run {apps[command]}")
        serve.add_argument("--host", default=None)
        serve.add_argument("--port", type=int, default=None)
    if object_references:
        sweep = commands.add_parser(
            "sweep-objects", help="remove the objects nothing has referenced for the grace, now"
        )
        sweep.add_argument(
            "--grace-hours", type=float, default=None, help="instead of the setting (24 h)"
        )
    args = parser.parse_args(argv)

    settings = settings_factory()
    configure_logging(service=name, level=settings.log_level, json=settings.log_json)
    if args.command == "prestart":
        if migrations_dir is not None:
            upgrade_to_head(migrations_dir=migrations_dir, database_url=settings.database_url)
        return
    if args.command == "sweep-objects":
        swept = asyncio.run(
            sweep_objects(
                name=name,
                settings=settings,
                references=object_references,
                grace_hours=args.grace_hours,
            )
        )
        print(f"swept {swept} objects")
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


async def sweep_objects(
    *,
    name: str,
    settings: ServiceSettings,
    references: Sequence[ObjectReference],
    grace_hours: float | None = None,
) -> int:
    """One sweep pass (mark, then remove what was marked a grace ago); how many objects went.

    With a grace of 0 a key found unreferenced is marked by one run and removed by the next."""
    engine = create_engine(settings.database_url, pool_size=1, max_overflow=1)
    try:
        storage = ObjectStorage(
            endpoint=settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key.get_secret_value(),
            secure=settings.s3_secure,
            region=settings.s3_region,
        )
        hours = settings.object_sweep_grace_hours if grace_hours is None else grace_hours
        sweeper = ObjectSweeper(
            service=name,
            session_factory=create_session_factory(engine),
            storage=storage,
            references=references,
            grace=timedelta(hours=hours),
        )
        return await sweeper.sweep()
    finally:
        await engine.dispose()
