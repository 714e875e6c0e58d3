"""The one-command local run: every process green, the gateway answering, a clean stop."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from licheng.deploy.stack import load_stack

PORT_OFFSET = 20000  # beside a developer's own stack on the default ports


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_up_status_and_ctrl_c(tmp_path: Path) -> None:
    stack = load_stack(state=tmp_path, port_offset=PORT_OFFSET)
    gateway = next(p for p in stack.processes if p.name == "gateway")
    command = [sys.executable, "-m", "licheng.deploy.stack"]
    options = ["--state-dir", str(tmp_path), "--port-offset", str(PORT_OFFSET)]
    runner = subprocess.Popen(
        [*command, "up", *options], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output: list[str] = []
    try:
        assert runner.stdout is not None
        deadline = time.monotonic() + 180
        for line in runner.stdout:
            output.append(line)
            if "[stack] all ready" in line or time.monotonic() > deadline:
                break
        assert any("all ready" in line for line in output), "".join(output)

        ready = httpx.get(f"{gateway.url}/readyz", timeout=5)
        assert ready.status_code == 200, ready.text
        assert set(ready.json()["checks"].values()) == {"ok"}
        portal = httpx.get(f"{gateway.url}/", timeout=5)
        assert portal.status_code == 200
        assert "學習歷程檔案" in portal.text
        for process in stack.processes:
            assert httpx.get(f"{process.url}/readyz", timeout=5).status_code == 200
            assert (tmp_path / "log" / f"{process.name}.log").exists()
        signed_in = httpx.post(
            f"{gateway.url}/api/identity/v1/dev-auth/token",
            json={"username": "011302-t-a001", "password": "demo"},
            timeout=10,
        )
        assert signed_in.status_code == 200, signed_in.text
        bearer = {"authorization": f"Bearer {signed_in.json()['access_token']}"}
        me = httpx.get(f"{gateway.url}/api/identity/v1/me", headers=bearer, timeout=10)
        assert me.status_code == 200, me.text
        assert me.json()["schools"][0]["roles"] == ["admin"]
        students = httpx.get(
            f"{gateway.url}/api/identity/v1/schools/011302/students", headers=bearer, timeout=10
        )
        assert students.json()["total"] == 6
        assert any("demo accounts" in line for line in output)
        status = subprocess.run([*command, "status", *options], capture_output=True, text=True)
        assert status.returncode == 0, status.stdout + status.stderr
        assert status.stdout.count("ready") >= len(stack.processes)
    finally:
        runner.send_signal(signal.SIGINT)
        rest, _ = runner.communicate(timeout=120)
        output.append(rest)
    assert runner.returncode == 0, "".join(output)
    assert not _listening(gateway.port)
    assert not _listening(stack.infra_ports["LICHENG_NATS_PORT"])
    assert not list((tmp_path / "run").glob("*.pid"))
