"""Throwaway servers for tests: a private nats-server, a cuttable TCP proxy, a JWKS host."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, *, timeout: float = 10.0) -> None:
    """Block until something accepts connections on 127.0.0.1:`port`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port}")


class NatsServerProcess:
    """A private nats-server with JetStream on its own port and store, for outage tests."""

    def __init__(
        self,
        binary: str,
        store_dir: Path,
        port: int | None = None,
        *,
        cluster_args: list[str] | None = None,
    ) -> None:
        self.binary = binary
        self.store_dir = store_dir
        self.port = port or free_port()
        self.cluster_args = cluster_args or []
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The client URL."""
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start (or start again, with the same store) and wait until it accepts clients."""
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self._process = subprocess.Popen(  # noqa: S603  (our own nats-server binary)
            [
                self.binary,
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-sd",
                str(self.store_dir),
                *self.cluster_args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        """Stop it cleanly (JetStream keeps what it stored)."""
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    def kill(self) -> None:
        """Kill it without warning."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None


class NatsCluster:
    """A JetStream cluster of private nats-servers on loopback (3 by default), for scale-out
    tests: `url` lists every server; `servers[i].kill()` / `.start()` take one away and back."""

    def __init__(self, binary: str, store_dir: Path, size: int = 3, name: str = "licheng") -> None:
        client_ports = [free_port() for _ in range(size)]
        route_ports = [free_port() for _ in range(size)]
        routes = ",".join(f"nats://127.0.0.1:{port}" for port in route_ports)
        self.servers = [
            NatsServerProcess(
                binary,
                store_dir / f"n{index}",
                client_ports[index],
                cluster_args=[
                    "--server_name",
                    f"{name}-n{index}",
                    "--cluster_name",
                    name,
                    "--cluster",
                    f"nats://127.0.0.1:{route_ports[index]}",
                    "--routes",
                    routes,
                ],
            )
            for index in range(size)
        ]

    @property
    def url(self) -> str:
        """Every server's client URL, comma-separated (as the kit's `connect_nats` takes it)."""
        return ",".join(server.url for server in self.servers)

    def start(self) -> None:
        """Start every server (they find each other through the routes)."""
        for server in self.servers:
            server.start()

    def stop(self) -> None:
        """Stop every server."""
        for server in self.servers:
            server.stop()


class TcpProxy:
    """Forwards a local port to a real server; `cut()` makes the server vanish for clients,
    `pause()` makes it hang (bytes held in both directions) until `resume()`."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._flowing = asyncio.Event()
        self._flowing.set()
        # Set when a byte arrived while paused: a client is now waiting on the server.
        self.stalled = asyncio.Event()

    def pause(self) -> None:
        """Hold every byte that arrives from now on (connections stay open) until `resume()`."""
        self.stalled.clear()
        self._flowing.clear()

    def resume(self) -> None:
        """Pass the held bytes on, and everything after them."""
        self._flowing.set()

    async def start(self) -> None:
        """Listen (again) on the same port."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def cut(self) -> None:
        """Stop listening and drop every open connection."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            writer.close()
            return
        self._writers.update({writer, up_writer})
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                if not self._flowing.is_set():
                    self.stalled.set()
                    await self._flowing.wait()
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()
            self._writers.discard(writer)


class JsonHttpServer:
    """Serves one JSON document over HTTP on loopback (e.g. a JWKS)."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        body_of = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = json.dumps(body_of.document).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/jwks"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
