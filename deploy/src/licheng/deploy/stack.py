"""The local stack as declared in `deploy/stack.toml`: its processes, ports and settings."""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[4]
STACK_FILE = REPO_ROOT / "deploy" / "stack.toml"
INFRA_SCRIPT = REPO_ROOT / "deploy" / "infra" / "infra.sh"
DEFAULT_STATE = REPO_ROOT / "var" / "local"
UPSTREAM_NAMES = ("identity", "course-outcomes", "performances", "guidance", "exports")


@dataclass(frozen=True)
class Process:
    """One process of the stack."""

    name: str
    prefix: str
    port: int
    command: list[str]
    prestart: list[str] = field(default_factory=list)
    database: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """Its base URL."""
        return f"http://127.0.0.1:{self.port}"


@dataclass(frozen=True)
class Stack:
    """The declared stack with ports shifted and paths resolved."""

    state: Path
    infra_components: list[str]
    infra_ports: dict[str, int]
    common: dict[str, str]
    processes: list[Process]
    demo_accounts: list[str] = field(default_factory=list)
    demo_sign_in: str = ""

    def placeholders(self) -> dict[str, str]:
        """Values for `{name}` in stack.toml strings."""
        values = {
            "nats_port": str(self.infra_ports["LICHENG_NATS_PORT"]),
            "s3_port": str(self.infra_ports["LICHENG_S3_PORT"]),
            "state": str(self.state),
        }
        for process in self.processes:
            values[f"{process.name.replace('-', '_')}_port"] = str(process.port)
        by_name = {p.name: p.url for p in self.processes}
        values["upstreams"] = json.dumps({n: by_name[n] for n in UPSTREAM_NAMES})
        return values

    def environment(self, process: Process) -> dict[str, str]:
        """The process's environment: ours, plus the stack's settings under its prefix."""
        values = self.placeholders()
        env = dict(os.environ)
        settings = {**self.common, **process.extra, "PORT": str(process.port)}
        if process.database:
            database_file = self.state / "data" / f"{process.database}.db"
            settings["DATABASE_URL"] = f"sqlite+aiosqlite:///{database_file}"
        for key, value in settings.items():
            env[f"{process.prefix}{key}"] = value.format(**values)
        return env

    def infra_environment(self) -> dict[str, str]:
        """Environment for deploy/infra/infra.sh."""
        env = dict(os.environ)
        env["LICHENG_INFRA_DIR"] = str(self.state / "infra")
        env.update({k: str(v) for k, v in self.infra_ports.items()})
        return env


def load_stack(*, state: Path, port_offset: int = 0, path: Path = STACK_FILE) -> Stack:
    """Read stack.toml."""
    declared: dict[str, Any] = tomllib.loads(path.read_text())
    processes = [
        Process(
            name=p["name"],
            prefix=p["prefix"],
            port=int(p["port"]) + port_offset,
            command=list(p["command"]),
            prestart=list(p.get("prestart", [])),
            database=p.get("database"),
            extra=dict(p.get("extra", {})),
        )
        for p in declared["process"]
    ]
    return Stack(
        state=state,
        infra_components=list(declared["infra"]["components"]),
        infra_ports={k: int(v) + port_offset for k, v in declared["infra"]["ports"].items()},
        common=dict(declared["common"]),
        processes=processes,
        demo_accounts=list(declared.get("demo", {}).get("accounts", [])),
        demo_sign_in=str(declared.get("demo", {}).get("sign_in", "")),
    )
