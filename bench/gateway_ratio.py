"""Benchmark P3: the gateway's cost, `GET /api/identity/v1/me` direct and through the gateway.

Interface (for `./licheng bench`):

    from bench.gateway_ratio import measure    # or `from gateway_ratio import …` from bench/
    figures = await measure(duration_seconds=8, connections=16, threads=2, latency_seconds=5)

returns a dict of floats:

    direct_rps, gateway_rps, ratio                  wrk -t2 -c16, 8 s each side (goal ratio ≥ 0.6)
    direct_p50_ms, gateway_p50_ms, added_p50_ms     wrk -t1 -c1, 5 s each side (goal added ≤ 2 ms)
    identity_cpu_us, gateway_cpu_us                 CPU per request of each process under load
    non_2xx                                         answers other than 2xx/3xx (should be 0)
    ratio_goal, added_p50_ms_goal                   the goals, to print beside the figures

Both sides are loaded in turn in four slices each (direct, gateway, gateway, direct, …), so a
change in the machine's load during the run falls on both alike.

Run alone after `./licheng infra up` (it uses the test NATS; the identity service gets a
throwaway SQLite database): `uv run python bench/gateway_ratio.py [--duration 8]`. Needs Debian's
`wrk`. The identity service and the gateway run as their own processes, started exactly as
`licheng-<name> serve` starts them (uvicorn, same loop and parser), with the gateway's rate
limit raised so that nothing answers 429; the token is one student's, signed like Keycloak's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from licheng.kit.tokens import RsaSigner
from licheng.testing.infra import load_infra
from licheng.testing.servers import JsonHttpServer, free_port

ISSUER = "https://issuer.bench.licheng/realms/licheng"
AUDIENCE = "licheng"
PATH = "/api/identity/v1/me"
RATIO_GOAL = 0.6
ADDED_P50_MS_GOAL = 2.0
SLICES = 4
_BIN = Path(sys.executable).parent
_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _token(signer: RsaSigner) -> str:
    person = uuid.uuid4()
    return signer.mint(
        {
            "iss": ISSUER,
            "aud": [AUDIENCE],
            "sub": str(uuid.uuid4()),
            "pid": str(person),
            "preferred_username": f"student-{person.hex[:6]}",
            "name": "測試學生",
            "groups": ["/schools/011302/student"],
        },
        lifetime_seconds=3600,
    )


@contextmanager
def _process(command: list[str], env: dict[str, str], log: Path) -> Iterator[int]:
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield process.pid
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def _wait_ready(url: str, log: Path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(url, timeout=1.0)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not become ready; see {log}")


def _to_ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value)
    if match is None:
        raise ValueError(f"not a wrk duration: {value!r}")
    return float(match[1]) * _UNITS_MS[match[2]]


async def _wrk(
    url: str, token: str, *, threads: int, connections: int, seconds: int
) -> dict[str, float]:
    """Run wrk; requests done, seconds taken, p50 latency (ms) and non-2xx answers."""
    process = await asyncio.create_subprocess_exec(
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "-H",
        f"Authorization: Bearer {token}",
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output = (await process.communicate())[0].decode()
    done = re.search(r"(\d+) requests in ([\d.]+\w+),", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE)
    if process.returncode != 0 or done is None or p50 is None:
        raise RuntimeError(f"wrk failed:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return {
        "requests": float(done[1]),
        "seconds": _to_ms(done[2]) / 1000,
        "p50_ms": _to_ms(p50[1]),
        "non_2xx": float(non_2xx[1]) if non_2xx else 0.0,
    }


async def measure(
    *,
    duration_seconds: int = 8,
    connections: int = 16,
    threads: int = 2,
    latency_seconds: int = 5,
) -> dict[str, float]:
    """Start identity and the gateway, load both with wrk in the same run; the figures."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is missing: apt-get install wrk")
    infra = load_infra()
    signer = RsaSigner()
    jwks = JsonHttpServer(signer.jwks())
    token = _token(signer)
    identity_port, gateway_port = free_port(), free_port()
    with tempfile.TemporaryDirectory(prefix="licheng-bench-gateway-") as tmp:
        work = Path(tmp)
        common = {
            **os.environ,
            "LICHENG_ENVIRONMENT": "development",
            "LICHENG_LOG_LEVEL": "WARNING",
        }
        identity_env = {
            **common,
            "LICHENG_IDENTITY_DATABASE_URL": f"sqlite+aiosqlite:///{work}/identity.db",
            "LICHENG_IDENTITY_NATS_URL": infra.nats_url,
            "LICHENG_IDENTITY_S3_ENDPOINT": infra.s3_endpoint,
            "LICHENG_IDENTITY_S3_ACCESS_KEY": infra.s3_access_key,
            "LICHENG_IDENTITY_S3_SECRET_KEY": infra.s3_secret_key,
            "LICHENG_IDENTITY_JWKS_URL": jwks.url,
            "LICHENG_IDENTITY_JWT_ISSUER": ISSUER,
            "LICHENG_IDENTITY_LOG_LEVEL": "WARNING",
        }
        gateway_env = {
            **common,
            "LICHENG_GATEWAY_UPSTREAMS": json.dumps(
                {"identity": f"http://127.0.0.1:{identity_port}"}
            ),
            "LICHENG_GATEWAY_JWKS_URL": jwks.url,
            "LICHENG_GATEWAY_JWT_ISSUER": ISSUER,
            "LICHENG_GATEWAY_RATE_LIMIT": "100000000/minute",
            "LICHENG_GATEWAY_LOG_LEVEL": "WARNING",
        }
        prestart = [str(_BIN / "licheng-identity"), "prestart"]
        await asyncio.to_thread(subprocess.run, prestart, env=identity_env, check=True)
        identity_serve = [str(_BIN / "licheng-identity"), "serve", "--port", str(identity_port)]
        gateway_serve = [str(_BIN / "licheng-gateway"), "serve", "--port", str(gateway_port)]
        try:
            with (
                _process(identity_serve, identity_env, work / "identity.log") as identity_pid,
                _process(gateway_serve, gateway_env, work / "gateway.log") as gateway_pid,
            ):
                direct = f"http://127.0.0.1:{identity_port}{PATH}"
                through = f"http://127.0.0.1:{gateway_port}{PATH}"
                await _wait_ready(f"http://127.0.0.1:{identity_port}/readyz", work / "identity.log")
                await _wait_ready(f"http://127.0.0.1:{gateway_port}/healthz", work / "gateway.log")
                # Warm both (JWKS fetched, pools filled) before anything is timed.
                for url in (direct, through):
                    await _wrk(url, token, threads=1, connections=connections, seconds=1)
                load = {"threads": threads, "connections": connections}
                cpu_before = {pid: _cpu_seconds(pid) for pid in (identity_pid, gateway_pid)}
                direct_load, gateway_load = await _interleaved(
                    direct, through, token, load=load, seconds=duration_seconds
                )
                cpu = {pid: _cpu_seconds(pid) - cpu_before[pid] for pid in cpu_before}
                single = {"threads": 1, "connections": 1}
                direct_single, gateway_single = await _interleaved(
                    direct, through, token, load=single, seconds=latency_seconds
                )
        finally:
            jwks.close()
    return {
        "direct_rps": direct_load["rps"],
        "gateway_rps": gateway_load["rps"],
        "ratio": gateway_load["rps"] / direct_load["rps"],
        "ratio_goal": RATIO_GOAL,
        "direct_p50_ms": direct_single["p50_ms"],
        "gateway_p50_ms": gateway_single["p50_ms"],
        "added_p50_ms": gateway_single["p50_ms"] - direct_single["p50_ms"],
        "added_p50_ms_goal": ADDED_P50_MS_GOAL,
        # CPU per request under load: identity's over both sides' requests (it answers both),
        # the gateway's over the requests it proxied. Steadier than req/s on a busy machine.
        "identity_cpu_us": cpu[identity_pid]
        * 1e6
        / (direct_load["requests"] + gateway_load["requests"]),
        "gateway_cpu_us": cpu[gateway_pid] * 1e6 / gateway_load["requests"],
        "non_2xx": direct_load["non_2xx"]
        + gateway_load["non_2xx"]
        + direct_single["non_2xx"]
        + gateway_single["non_2xx"],
    }


async def _interleaved(
    direct: str, through: str, token: str, *, load: dict[str, int], seconds: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Load both sides in turn, SLICES slices of `seconds / SLICES` each (direct, gateway,
    gateway, direct, …), so that a change in the machine's load falls on both alike; requests
    per second over all slices, and the median of the slices' p50s."""
    slice_seconds = max(1, round(seconds / SLICES))
    runs: dict[str, list[dict[str, float]]] = {direct: [], through: []}
    for i in range(SLICES):
        order = (direct, through) if i % 2 == 0 else (through, direct)
        for url in order:
            runs[url].append(await _wrk(url, token, seconds=slice_seconds, **load))
    return _combined(runs[direct]), _combined(runs[through])


def _combined(slices: list[dict[str, float]]) -> dict[str, float]:
    return {
        "requests": sum(s["requests"] for s in slices),
        "rps": sum(s["requests"] for s in slices) / sum(s["seconds"] for s in slices),
        "p50_ms": statistics.median(s["p50_ms"] for s in slices),
        "non_2xx": sum(s["non_2xx"] for s in slices),
    }


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _print(figures: dict[str, Any]) -> None:
    print(
        f"GET {PATH}, wrk -c16: direct {figures['direct_rps']:.0f} req/s, "
        f"gateway {figures['gateway_rps']:.0f} req/s, "
        f"ratio {figures['ratio']:.2f} (goal ≥ {figures['ratio_goal']})"
    )
    print(
        f"concurrency 1, p50: direct {figures['direct_p50_ms']:.2f} ms, "
        f"gateway {figures['gateway_p50_ms']:.2f} ms, "
        f"added {figures['added_p50_ms']:.2f} ms (goal ≤ {figures['added_p50_ms_goal']})"
    )
    print(
        f"CPU per request under load: identity {figures['identity_cpu_us']:.0f} µs, "
        f"gateway {figures['gateway_cpu_us']:.0f} µs"
    )
    print(f"non-2xx answers: {figures['non_2xx']:.0f}")


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=8, help="seconds of load per side")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    _print(
        asyncio.run(
            measure(
                duration_seconds=args.duration,
                connections=args.connections,
                threads=args.threads,
            )
        )
    )


if __name__ == "__main__":
    main()
