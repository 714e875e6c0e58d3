"""Start, watch and stop the local stack's processes.

Every process is migrated and started at once (they do not depend on each other to start),
then the supervisor watches them: a process that exits is reported at once (which one, its
exit code or signal, the last lines of its log), and started again after a short backoff. One
that keeps failing (`MAX_RESTARTS` within `RESTART_WINDOW_SECONDS`) stops everything. The
infrastructure (NATS, SeaweedFS) is watched through its pid files and brought back the same way.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from licheng.deploy.stack import INFRA_SCRIPT, Process, Stack

STOP_GRACE_SECONDS = 15.0
MAX_RESTARTS = 3
RESTART_WINDOW_SECONDS = 120.0
BACKOFF_SECONDS = (1.0, 3.0, 8.0)
LOG_TAIL_LINES = 12


def say(message: str) -> None:
    """One line of the runner's output."""
    print(f"[stack] {message}", flush=True)


class StackFailed(RuntimeError):
    """A process could not be started, or keeps failing."""


def pid_file(stack: Stack, name: str) -> Path:
    """Where a process's pid is kept."""
    return stack.state / "run" / f"{name}.pid"


def log_file(stack: Stack, name: str) -> Path:
    """Where a process writes its log."""
    return stack.state / "log" / f"{name}.log"


def alive(pid: int) -> bool:
    """True when a process with this pid runs (a zombie, exited but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # Linux: the state letter follows the parenthesised command name
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def read_pid(path: Path) -> int | None:
    """The live pid in `path`, or None."""
    try:
        pid = int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if alive(pid) else None


def ready(url: str) -> bool:
    """True when `url/readyz` answers 200."""
    try:
        return httpx.get(f"{url}/readyz", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def run_infra(stack: Stack, action: str, *components: str) -> None:
    """deploy/infra/infra.sh for the stack's own infrastructure."""
    subprocess.run(
        ["bash", str(INFRA_SCRIPT), action, *(components or stack.infra_components)],
        env=stack.infra_environment(),
        check=True,
    )


def _port_taken(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def describe_exit(code: int) -> str:
    """`exit code 3`, or `killed by SIGKILL` for a negative Popen return code."""
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
        return f"killed by signal {-code}"
    return f"exit code {code}"


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> list[str]:
    """The last lines of a log file."""
    try:
        with path.open("rb") as handle:
            kept = deque(handle, maxlen=lines)
    except FileNotFoundError:
        return []
    return [line.decode("utf-8", "replace").rstrip() for line in kept]


@dataclass
class Child:
    """One supervised process."""

    process: Process
    popen: subprocess.Popen[bytes] | None = None
    restarts: list[float] = field(default_factory=list)


class Supervisor:
    """Runs the stack's processes and keeps them running."""

    def __init__(self, stack: Stack, *, timeout: float) -> None:
        self.stack = stack
        self.timeout = timeout
        self.children = [Child(p) for p in stack.processes]
        self.infra_restarts: dict[str, list[float]] = {}

    # ---------------------------------------------------------------- start
    def start_all(self) -> None:
        """Migrate everything at once, start everything at once, wait until all are ready."""
        for child in self.children:
            if _port_taken(child.process.port):
                raise StackFailed(f"{child.process.name}: port {child.process.port} is in use")
        migrations = []
        for child in self.children:
            if child.process.prestart:
                say(f"{child.process.name}: migrating")
                migrations.append((child.process, self._spawn(child.process, prestart=True)))
        for process, popen in migrations:
            if popen.wait() != 0:
                self._report_exit(process, popen.returncode, what="migration")
                raise StackFailed(f"{process.name}: migration failed")
        for child in self.children:
            child.popen = self._spawn(child.process)
        for child in self.children:
            self._wait_ready(child)
            say(f"{child.process.name}: ready at {child.process.url}")

    def _spawn(self, process: Process, *, prestart: bool = False) -> subprocess.Popen[bytes]:
        env = self.stack.environment(process)
        with log_file(self.stack, process.name).open("ab") as log:
            popen = subprocess.Popen(
                process.prestart if prestart else process.command,
                env=env,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        if not prestart:
            pid_file(self.stack, process.name).write_text(str(popen.pid))
        return popen

    def _wait_ready(self, child: Child) -> None:
        assert child.popen is not None
        deadline = time.monotonic() + self.timeout
        while not ready(child.process.url):
            code = child.popen.poll()
            if code is not None:
                self._report_exit(child.process, code)
                raise StackFailed(f"{child.process.name} stopped during start-up")
            if time.monotonic() > deadline:
                raise StackFailed(f"{child.process.name} not ready after {self.timeout:.0f}s")
            time.sleep(0.2)

    # ---------------------------------------------------------------- watch
    def watch(self, *, poll_seconds: float = 0.5) -> None:
        """Until interrupted: restart what stops; raise StackFailed when something keeps failing."""
        while True:
            for child in self.children:
                assert child.popen is not None
                code = child.popen.poll()  # also reaps it: no zombies
                if code is not None:
                    self._report_exit(child.process, code)
                    self._restart(child)
            for component in self.stack.infra_components:
                self._check_infra(component)
            time.sleep(poll_seconds)

    def _report_exit(self, process: Process, code: int, *, what: str = "process") -> None:
        path = log_file(self.stack, process.name)
        say(f"{process.name}: {what} stopped ({describe_exit(code)}); last lines of {path}:")
        for line in log_tail(path):
            say(f"  | {line}")

    def _allow_restart(self, history: list[float], name: str) -> float:
        now = time.monotonic()
        history[:] = [t for t in history if now - t < RESTART_WINDOW_SECONDS]
        if len(history) >= MAX_RESTARTS:
            raise StackFailed(
                f"{name} stopped {len(history) + 1} times within "
                f"{RESTART_WINDOW_SECONDS:.0f}s; giving up"
            )
        history.append(now)
        return BACKOFF_SECONDS[min(len(history) - 1, len(BACKOFF_SECONDS) - 1)]

    def _restart(self, child: Child) -> None:
        name = child.process.name
        delay = self._allow_restart(child.restarts, name)
        say(f"{name}: restarting in {delay:.0f}s (try {len(child.restarts)} of {MAX_RESTARTS})")
        time.sleep(delay)
        child.popen = self._spawn(child.process)
        try:
            self._wait_ready(child)
        except StackFailed as failed:
            say(f"{name}: {failed}")
            return  # the next round sees it stopped and counts another try
        say(f"{name}: back, ready at {child.process.url}")

    def _check_infra(self, component: str) -> None:
        path = self.stack.state / "infra" / "run" / f"{component}.pid"
        if read_pid(path) is not None:
            return
        say(f"{component}: stopped; last lines of its log:")
        for line in log_tail(self.stack.state / "infra" / "log" / f"{component}.log"):
            say(f"  | {line}")
        history = self.infra_restarts.setdefault(component, [])
        delay = self._allow_restart(history, component)
        time.sleep(delay)
        run_infra(self.stack, "up", component)

    # ---------------------------------------------------------------- stop
    def stop_all(self) -> None:
        """SIGTERM every process (gateway first), wait, SIGKILL stragglers, stop the infra."""
        stop_processes(self.stack)


def stop_processes(stack: Stack) -> None:
    """Stop every process of the stack found by pid file, then its infrastructure."""
    pids: list[tuple[str, int]] = []
    for process in reversed(stack.processes):
        pid = read_pid(pid_file(stack, process.name))
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGTERM)
            pids.append((process.name, pid))
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for name, pid in pids:
        while alive(pid) and time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                if os.waitpid(pid, os.WNOHANG) != (0, 0):
                    break
            time.sleep(0.1)
        if alive(pid):
            with contextlib.suppress(ProcessLookupError, ChildProcessError):
                os.killpg(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
        say(f"{name}: stopped")
    for process in stack.processes:
        pid_file(stack, process.name).unlink(missing_ok=True)
    run_infra(stack, "down")
