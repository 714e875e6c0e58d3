"""Run the whole suite locally: `licheng-stack up | status | down | backup | restore`.

`up` starts NATS and SeaweedFS (deploy/infra), migrates and starts every process declared in
`deploy/stack.toml`, waits until each answers `/readyz`, seeds the demo term, prints the URLs
and then watches over everything (licheng.deploy.supervisor) until Ctrl-C or `down` from another
terminal, when it stops everything. Logs go to `<state>/log/<name>.log`; pid files (the
runner's own is `stack.pid`) to `<state>/run/`. `backup [--to DIR]` and `restore DIR` copy the
databases, objects and key out and back in (licheng.deploy.backup; docs/reliability.md).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from licheng.deploy import backup as backups
from licheng.deploy import demo
from licheng.deploy.stack import DEFAULT_STATE, INFRA_SCRIPT, Stack, load_stack
from licheng.deploy.supervisor import (
    StackFailed,
    Supervisor,
    alive,
    read_pid,
    ready,
    run_infra,
    say,
    stop_processes,
)


def up(stack: Stack, *, timeout: float, seed_demo: bool = True) -> int:
    """Start everything, seed the demo, then watch over it until Ctrl-C or `down`."""

    for folder in ("log", "run", "data"):
        (stack.state / folder).mkdir(parents=True, exist_ok=True)
    runner_pid = read_pid(stack.state / "run" / "stack.pid")
    running = [p.name for p in stack.processes if read_pid(stack.state / "run" / f"{p.name}.pid")]
    if runner_pid is not None or running:
        say(f"already running: {', '.join(running) or 'the runner'} (use `down` first)")
        return 1
    (stack.state / "run" / "stack.pid").write_text(str(os.getpid()))

    def interrupt(_signum: int, _frame: object) -> None:
        # The first Ctrl-C or SIGTERM (`down`) starts an orderly stop; more must not cut it short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    supervisor = Supervisor(stack, timeout=timeout)
    try:
        run_infra(stack, "up")
        supervisor.start_all()
        gateway = next(p for p in stack.processes if p.name == "gateway")
        if seed_demo and stack.demo_accounts:
            demo.seed_term(gateway.url, state=stack.state)
            demo.seed_performances(gateway.url, state=stack.state)
        say(f"portal:   {gateway.url}/")
        say(f"API docs: {gateway.url}/api/docs")
        say(f"logs:     {stack.state / 'log'}")
        if stack.demo_accounts:
            say("demo accounts (password: demo):")
            for account in stack.demo_accounts:
                say(f"  {account}")
            say(f"sign in:  {stack.demo_sign_in.replace('{gateway}', gateway.url)}")
        say("all ready; press Ctrl-C (or run `./licheng down`) to stop everything")
        supervisor.watch()
        code = 0
    except KeyboardInterrupt:
        say("stopping")
        code = 0
    except StackFailed as failed:
        say(f"failed: {failed}; stopping everything")
        code = 1
    except Exception as exc:  # whatever failed, leave nothing running behind
        say(f"failed: {type(exc).__name__}: {exc}; stopping everything")
        code = 1
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    supervisor.stop_all()
    (stack.state / "run" / "stack.pid").unlink(missing_ok=True)
    say("stopped")
    return code


def down(stack: Stack, *, timeout: float = 90.0) -> int:
    """Ask the runner to stop everything (or stop what it left behind) and wait for it."""

    runner = read_pid(stack.state / "run" / "stack.pid")
    if runner is None:
        stop_processes(stack)
        return 0
    say(f"asking the runner (pid {runner}) to stop everything")
    os.kill(runner, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while alive(runner):
        if time.monotonic() > deadline:
            say("the runner did not stop in time; stopping its processes directly")
            os.kill(runner, signal.SIGKILL)
            stop_processes(stack)
            return 1
        time.sleep(0.2)
    say("stopped")
    return 0


def status(stack: Stack) -> int:
    """Print each process's state; non-zero when anything is down."""

    infra = subprocess.run(
        ["bash", str(INFRA_SCRIPT), "status", *stack.infra_components],
        env=stack.infra_environment(),
        check=False,
    )
    healthy = infra.returncode == 0
    for process in stack.processes:
        pid = read_pid(stack.state / "run" / f"{process.name}.pid")
        is_ready = pid is not None and ready(process.url)
        healthy = healthy and is_ready
        state = "ready" if is_ready else ("running, not ready" if pid else "stopped")
        print(f"{process.name:16} {state:20} {process.url}")
    return 0 if healthy else 1


def backup(stack: Stack, *, to: Path | None) -> int:
    """Back up the databases, objects and key; 2 when refused."""
    try:
        backups.backup(stack, to=to)
    except backups.BackupRefused as refused:
        say(f"backup refused: {refused}")
        return 2
    return 0


def restore(stack: Stack, folder: Path) -> int:
    """Restore a backup into the stopped stack; 2 (nothing changed) when refused."""
    try:
        backups.restore(stack, folder)
    except backups.BackupRefused as refused:
        say(f"restore refused, nothing changed: {refused}")
        return 2
    except Exception as exc:  # S3 or the disk failed part-way: running it again finishes it
        say(f"restore failed part-way ({type(exc).__name__}: {exc}); run it again")
        return 1
    return 0


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="licheng-stack", description=__doc__)
    parser.add_argument("command", choices=["up", "status", "down", "backup", "restore"])
    parser.add_argument("folder", nargs="?", type=Path, help="restore: the backup folder")
    parser.add_argument("--to", type=Path, help="backup: the folder to write (empty or new)")
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE)
    parser.add_argument("--port-offset", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=90.0, help="seconds to wait per process")
    parser.add_argument(
        "--no-demo", action="store_true", help="do not seed the demo term (outcomes in every state)"
    )
    args = parser.parse_args(argv)
    if (args.command == "restore") != (args.folder is not None):
        parser.error("restore takes the backup folder (and only restore takes a folder)")
    if args.to is not None and args.command != "backup":
        parser.error("--to is for backup")
    stack = load_stack(state=args.state_dir.resolve(), port_offset=args.port_offset)
    if args.command == "backup":
        sys.exit(backup(stack, to=args.to))
    if args.command == "restore":
        sys.exit(restore(stack, args.folder))
    if args.command == "up":
        sys.exit(up(stack, timeout=args.timeout, seed_demo=not args.no_demo))
    if args.command == "status":
        sys.exit(status(stack))
    sys.exit(down(stack))


if __name__ == "__main__":
    main()
