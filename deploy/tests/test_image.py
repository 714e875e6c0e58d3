"""The OCI image (deploy/image, licheng.deploy.image): built here from a debootstrapped Debian
root filesystem with buildah, then run with podman as a district would run it — non-root, on a
read-only root filesystem — against the test PostgreSQL and NATS: a service migrates and
serves, the portal and the gateway in their own containers answer through it (a development
sign-in and `/me`), every container's health check passes, and
WeasyPrint renders Chinese inside the image."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from licheng.deploy.image import BuiltImage, containers_env
from licheng.testing.databases import create_database, drop_database
from licheng.testing.infra import TestInfra
from licheng.testing.servers import free_port

pytestmark = pytest.mark.postgresql_only(reason="the containers reach the test PostgreSQL")

SERVICES = ("identity", "course-outcomes", "performances", "guidance", "exports")


def _podman(image: BuiltImage, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        image.podman(*args),
        capture_output=True,
        text=True,
        env=containers_env(image.storage),
        timeout=300,
        check=False,
    )
    if check:
        assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-2000:]
    return done


def _run_args(env: dict[str, str]) -> list[str]:
    tmpfs = "/tmp:rw,size=256m"  # noqa: S108  (inside the container)
    flags = ["--network", "host", "--read-only", "--tmpfs", tmpfs, "--no-healthcheck"]
    for key, value in env.items():
        flags += ["--env", f"{key}={value}"]
    return flags


@pytest.fixture
def containers(image: BuiltImage) -> Iterator[list[str]]:
    started: list[str] = []
    yield started
    for name in started:
        logs = _podman(image, "logs", name, check=False).stdout
        _podman(image, "rm", "--force", "--time", "5", name, check=False)
        assert '"level": "error"' not in logs, logs[-3000:]


def test_the_image_runs_as_an_unprivileged_user_with_a_health_check_and_no_secrets(
    image: BuiltImage,
) -> None:
    (inspected,) = json.loads(_podman(image, "image", "inspect", image.name).stdout)
    config = inspected["Config"]
    assert config["User"] == "10001:10001"
    assert inspected["Healthcheck"]["Test"] == ["CMD", "licheng-healthcheck"]
    env = dict(item.split("=", 1) for item in config["Env"])
    assert not [k for k in env if k.startswith("LICHENG_")]  # every setting comes at run time
    listed = _podman(image, "run", "--rm", *_run_args({}), image.name, "ls", "/usr/local/bin")
    commands = set(listed.stdout.split())
    assert {f"licheng-{s}" for s in SERVICES} | {"licheng-gateway", "licheng-web"} <= commands
    who = _podman(image, "run", "--rm", *_run_args({}), image.name, "id", "-u").stdout
    assert who.strip() == "10001"
    # The root filesystem refuses writes; only /tmp takes them.
    written = _podman(
        image, "run", "--rm", *_run_args({}), image.name, "touch", "/opt/licheng/x", check=False
    )
    assert written.returncode != 0


def test_weasyprint_renders_chinese_inside_the_image(image: BuiltImage) -> None:
    script = (
        "import weasyprint\n"
        "pdf = weasyprint.HTML(string='<p>學習歷程確認單</p>').write_pdf()\n"
        "print(len(pdf), pdf[:5])\n"
    )
    done = _podman(image, "run", "--rm", *_run_args({}), image.name, "python3", "-c", script)
    size, header = done.stdout.split(maxsplit=1)
    assert int(size) > 1000
    assert "%PDF" in header


async def test_a_service_migrates_and_serves_and_the_gateway_answers_through_it(
    image: BuiltImage, containers: list[str], infra: TestInfra
) -> None:
    database = await create_database(infra, "image_identity")
    identity_port, gateway_port = free_port(), free_port()
    identity_url = f"http://127.0.0.1:{identity_port}"
    settings = {
        "LICHENG_IDENTITY_ENVIRONMENT": "test",
        "LICHENG_IDENTITY_PORT": str(identity_port),
        "LICHENG_IDENTITY_DATABASE_URL": infra.pg_url(database),
        "LICHENG_IDENTITY_NATS_URL": infra.nats_url,
        "LICHENG_IDENTITY_S3_ENDPOINT": infra.s3_endpoint,
        "LICHENG_IDENTITY_S3_ACCESS_KEY": infra.s3_access_key,
        "LICHENG_IDENTITY_S3_SECRET_KEY": infra.s3_secret_key,
        "LICHENG_IDENTITY_JWKS_URL": f"{identity_url}/api/identity/v1/dev-auth/jwks",
        "LICHENG_IDENTITY_JWT_ISSUER": f"http://127.0.0.1:{gateway_port}/dev-issuer",
        "LICHENG_IDENTITY_SEED_DEMO": "true",
    }
    try:
        _podman(image, "run", "--rm", *_run_args(settings), image.name,
                "licheng-identity", "prestart")  # fmt: skip
        identity = f"identity-{uuid.uuid4().hex[:6]}"
        containers.append(identity)
        _podman(image, "run", "--detach", "--name", identity, *_run_args(settings), image.name,
                "licheng-identity", "serve")  # fmt: skip
        web_port = free_port()
        web = f"web-{uuid.uuid4().hex[:6]}"
        containers.append(web)
        web_env = {
            "LICHENG_WEB_ENVIRONMENT": "test",
            "LICHENG_WEB_PORT": str(web_port),
            "LICHENG_WEB_GATEWAY_URL": f"http://127.0.0.1:{gateway_port}",
            "LICHENG_WEB_PUBLIC_URL": f"http://127.0.0.1:{gateway_port}",
            "LICHENG_WEB_NATS_URL": infra.nats_url,
            "LICHENG_WEB_JWKS_URL": settings["LICHENG_IDENTITY_JWKS_URL"],
            "LICHENG_WEB_JWT_ISSUER": settings["LICHENG_IDENTITY_JWT_ISSUER"],
        }
        _podman(image, "run", "--detach", "--name", web, *_run_args(web_env), image.name,
                "licheng-web", "serve")  # fmt: skip
        gateway = f"gateway-{uuid.uuid4().hex[:6]}"
        containers.append(gateway)
        gateway_env = {
            "LICHENG_GATEWAY_PORTAL_URL": f"http://127.0.0.1:{web_port}",
            "LICHENG_GATEWAY_ENVIRONMENT": "test",
            "LICHENG_GATEWAY_PORT": str(gateway_port),
            "LICHENG_GATEWAY_UPSTREAMS": json.dumps({"identity": identity_url}),
            "LICHENG_GATEWAY_JWKS_URL": settings["LICHENG_IDENTITY_JWKS_URL"],
            "LICHENG_GATEWAY_JWT_ISSUER": settings["LICHENG_IDENTITY_JWT_ISSUER"],
            "LICHENG_GATEWAY_NATS_URL": infra.nats_url,
        }
        _podman(image, "run", "--detach", "--name", gateway, *_run_args(gateway_env),
                image.name, "licheng-gateway", "serve")  # fmt: skip
        base = f"http://127.0.0.1:{gateway_port}"
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            deadline = time.monotonic() + 90
            answer = "no answer"
            while True:
                try:
                    ready = await client.get("/readyz")
                    answer = ready.text
                    if ready.status_code == 200:
                        break
                except httpx.TransportError as error:
                    answer = repr(error)
                logs = _podman(image, "logs", gateway).stdout[-2000:]
                assert time.monotonic() < deadline, f"{answer}\n{logs}"
                await asyncio.sleep(0.5)
            token = await client.post(
                "/api/identity/v1/dev-auth/token",
                json={"username": "011302-t-a001", "password": "demo"},
            )
            assert token.status_code == 200, token.text
            me = await client.get(
                "/api/identity/v1/me",
                headers={"authorization": f"Bearer {token.json()['access_token']}"},
            )
            assert me.status_code == 200, me.text
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            page = await client.get("/")  # the portal's first page, through the gateway
            assert page.status_code in (200, 303), page.text[:500]
        for name in (identity, web, gateway):
            health = _podman(image, "exec", name, "licheng-healthcheck", check=False)
            assert health.returncode == 0, health.stderr
    finally:
        await drop_database(infra, database)
