"""Run the whole suite locally: `licheng-stack up | status | down`.

`up` starts NATS and SeaweedFS (deploy/infra), migrates and starts every process declared in
`deploy/stack.toml` in order, waits until each answers `/readyz`, prints the URLs and keeps
running until Ctrl-C, when it stops everything in reverse order. Logs go to
`<state>/log/<name>.log`; pid files to `<state>/run/`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parents[4]
STACK_FILE = REPO_ROOT / "deploy" / "stack.toml"
INFRA_SCRIPT = REPO_ROOT / "deploy" / "infra" / "infra.sh"
DEFAULT_STATE = REPO_ROOT / "var" / "local"
UPSTREAM_NAMES = ("identity", "course-outcomes", "performances", "guidance", "exports")
STOP_GRACE_SECONDS = 15.0


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


def _say(message: str) -> None:
    print(f"[stack] {message}", flush=True)


def _pid_file(stack: Stack, process: Process) -> Path:
    return stack.state / "run" / f"{process.name}.pid"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_pid(path: Path) -> int | None:
    try:
        pid = int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if _alive(pid) else None


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def _infra(stack: Stack, action: str) -> None:
    subprocess.run(
        ["bash", str(INFRA_SCRIPT), action, *stack.infra_components],
        env=stack.infra_environment(),
        check=True,
    )


def _port_taken(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _start(stack: Stack, process: Process) -> subprocess.Popen[bytes]:
    if _port_taken(process.port):
        raise RuntimeError(f"{process.name}: port {process.port} is already in use")
    env = stack.environment(process)
    log_path = stack.state / "log" / f"{process.name}.log"
    if process.prestart:
        _say(f"{process.name}: migrating")
        with log_path.open("ab") as log:
            subprocess.run(process.prestart, env=env, stdout=log, stderr=log, check=True)
    log = log_path.open("ab")
    child = subprocess.Popen(
        process.command, env=env, stdout=log, stderr=log, start_new_session=True
    )
    log.close()
    _pid_file(stack, process).write_text(str(child.pid))
    return child


def _wait_ready(process: Process, child: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not _ready(process.url):
        if child.poll() is not None:
            raise RuntimeError(f"{process.name} exited with {child.returncode}; see its log")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{process.name} not ready after {timeout:.0f}s; see its log")
        time.sleep(0.25)


def _stop_pid(name: str, pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
    if _alive(pid):
        os.killpg(pid, signal.SIGKILL)
    _say(f"{name}: stopped")


def _stop_all(stack: Stack) -> None:
    for process in reversed(stack.processes):
        pid = _read_pid(_pid_file(stack, process))
        if pid is not None:
            _stop_pid(process.name, pid)
        _pid_file(stack, process).unlink(missing_ok=True)
    _infra(stack, "down")


def up(stack: Stack, *, timeout: float) -> int:
    """Start everything, wait for readiness, then run until interrupted."""
    for folder in ("log", "run", "data"):
        (stack.state / folder).mkdir(parents=True, exist_ok=True)
    running = [p.name for p in stack.processes if _read_pid(_pid_file(stack, p))]
    if running:
        _say(f"already running: {', '.join(running)} (use `down` first)")
        return 1

    def interrupt(_signum: int, _frame: object) -> None:
        # The first Ctrl-C or SIGTERM starts an orderly stop; more of them must not cut it short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    try:
        _infra(stack, "up")
        for process in stack.processes:
            child = _start(stack, process)
            _wait_ready(process, child, timeout)
            _say(f"{process.name}: ready at {process.url}")
        gateway = next(p for p in stack.processes if p.name == "gateway")
        _say(f"portal:   {gateway.url}/")
        _say(f"API docs: {gateway.url}/api/docs")
        _say(f"logs:     {stack.state / 'log'}")
        if stack.demo_accounts:
            _say("demo accounts (password: demo):")
            for account in stack.demo_accounts:
                _say(f"  {account}")
            sign_in = stack.demo_sign_in.replace("{gateway}", gateway.url)
            _say(f"sign in:  {sign_in}")
        _say("all ready; press Ctrl-C to stop everything")
        while True:
            time.sleep(1.0)
    except KeyboardInterrupt:
        _say("stopping")
        code = 0
    except Exception as exc:  # whatever failed, leave nothing running behind
        _say(f"failed: {exc}")
        code = 1
    _stop_all(stack)
    return code


def status(stack: Stack) -> int:
    """Print each process's state; non-zero when anything is down."""
    healthy = True
    infra = subprocess.run(
        ["bash", str(INFRA_SCRIPT), "status", *stack.infra_components],
        env=stack.infra_environment(),
        check=False,
    )
    healthy = infra.returncode == 0
    for process in stack.processes:
        pid = _read_pid(_pid_file(stack, process))
        ready = pid is not None and _ready(process.url)
        healthy = healthy and ready
        state = "ready" if ready else ("running, not ready" if pid else "stopped")
        print(f"{process.name:16} {state:20} {process.url}")
    return 0 if healthy else 1


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="licheng-stack", description=__doc__)
    parser.add_argument("command", choices=["up", "status", "down"])
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE)
    parser.add_argument("--port-offset", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=90.0, help="seconds to wait per process")
    args = parser.parse_args(argv)
    stack = load_stack(state=args.state_dir.resolve(), port_offset=args.port_offset)
    if args.command == "up":
        sys.exit(up(stack, timeout=args.timeout))
    if args.command == "status":
        sys.exit(status(stack))
    _stop_all(stack)


if __name__ == "__main__":
    main()
