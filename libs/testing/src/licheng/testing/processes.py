"""Licheng services as real processes (`licheng-<name> serve`, uvicorn as deployed), for the
benchmarks and the scale-out tests: started with their settings in the environment, waited for
until ready, stopped (or killed) afterwards."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent


@dataclass
class Service:
    """One running service process."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        """The process id (the uvicorn process itself, no wrapper)."""
        return self.process.pid

    def cpu_seconds(self) -> float:
        """CPU time (user + system) it has used so far, from /proc."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_bytes(self) -> int:
        """Its resident memory now, from /proc."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError(f"no VmRSS for {self.name}")

    def kill(self) -> None:
        """SIGKILL: the process ends mid-whatever, as a crashed pod would."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()


def service_env(prefix: str, values: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without any LICHENG_ setting, plus `values` under `prefix`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LICHENG_")}
    env.update({f"{prefix}{k.upper()}": v for k, v in values.items()})
    return env


@contextmanager
def service_process(
    name: str,
    env: dict[str, str],
    port: int,
    work: Path,
    *,
    command: str = "serve",
    label: str | None = None,
) -> Iterator[Service]:
    """`licheng-<name> <command> --port <port>`, logging to `work/<label>.log`; stopped after."""
    label = label or name
    log = work / f"{label}.log"
    argv = [str(BIN / f"licheng-{name}"), command, "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
        try:
            yield Service(label, f"http://127.0.0.1:{port}", process, log)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def wait_ready(service: Service, path: str = "/readyz", timeout: float = 60.0) -> None:
    """Until `path` answers 200; the log's tail in the error when it never does."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if service.process.poll() is not None:
                break
            try:
                if (await client.get(service.url + path, timeout=2.0)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    tail = service.log.read_text(errors="replace")[-3000:]
    state = f"exited {service.process.returncode}" if service.process.poll() is not None else "up"
    raise RuntimeError(
        f"{service.name} did not answer {path} within {timeout:.0f} s ({state}, {service.log}):\n"
        f"{tail}"
    )
