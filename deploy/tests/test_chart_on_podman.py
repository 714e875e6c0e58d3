"""The chart's manifests actually run: rendered for a single host (the small profile, every
component on the host network at 127.0.0.1, the test PostgreSQL, NATS and SeaweedFS, tokens
from identity's development issuer), the Deployments and ConfigMaps go to `podman kube play`
with the Secrets as podman secrets, and a short term is walked through the gateway — the demo
school's 參數設定, 修課紀錄 import, outcomes in every state with files, certification and
selection, and the year's 多元表現 — by the same code `./licheng up` seeds with.

What `podman kube play` does not run is done the single-host way (docs/deployment.md): the
migration Jobs run as `podman run` of the Job's own container spec before the pods start;
Services, PodDisruptionBudgets, NetworkPolicies and the Ingress have no meaning on one host
with host networking and are left out.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from licheng.deploy import demo
from licheng.deploy.image import BuiltImage, containers_env
from licheng.testing.databases import create_database, drop_database
from licheng.testing.infra import TestInfra
from licheng.testing.servers import free_port

pytestmark = pytest.mark.postgresql_only(reason="the district runs PostgreSQL")

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "licheng"
SMALL = REPO / "deploy" / "helm" / "profiles" / "small.yaml"
DATABASES = {
    "identity": "identity",
    "course-outcomes": "course_outcomes",
    "performances": "performances",
    "guidance": "guidance",
    "exports": "exports",
}
PREFIXES = {
    "identity": "LICHENG_IDENTITY_",
    "course-outcomes": "LICHENG_COURSE_OUTCOMES_",
    "performances": "LICHENG_PERFORMANCES_",
    "guidance": "LICHENG_GUIDANCE_",
    "exports": "LICHENG_EXPORTS_",
    "exports-worker": "LICHENG_EXPORTS_",
    "web": "LICHENG_WEB_",
    "gateway": "LICHENG_GATEWAY_",
}


@dataclass
class Played:
    """The running release: its gateway and where its files are."""

    gateway: str
    kube_file: Path
    work: Path


def _helm() -> str:
    helm = os.environ.get("LICHENG_HELM") or str(REPO / "var" / "tools" / "bin" / "helm")
    if not Path(helm).is_file():
        pytest.fail(f"Helm is not built at {helm}: run ./licheng test, which builds it")
    return helm


def _podman(image: BuiltImage, *args: str, work: Path, check: bool = True) -> str:
    done = subprocess.run(
        image.podman(*args),
        capture_output=True,
        text=True,
        env=containers_env(image.storage),
        cwd=work,  # kube play looks for a build context named like the image in its cwd
        timeout=300,
        check=False,
    )
    if check:
        assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-2000:]
    return done.stdout


def _values(
    image: BuiltImage, infra: TestInfra, ports: dict[str, int], bucket: str
) -> dict[str, Any]:
    repository, tag = image.name.rsplit(":", 1)
    identity = f"http://127.0.0.1:{ports['identity']}"
    components: dict[str, Any] = {name: {"port": port} for name, port in ports.items()}
    components["identity"]["env"] = {"DEV_ISSUER_ENABLED": "true", "SEED_DEMO": "true"}
    for name in ("exports", "exports-worker"):
        components[name]["env"] = {
            "TOKEN_URL": f"{identity}/api/identity/v1/dev-auth/service-token"
        }
    return {
        "image": {"repository": repository, "tag": tag, "pullPolicy": "Never"},
        "componentHost": "127.0.0.1",
        "publicHost": f"127.0.0.1:{ports['gateway']}",
        "nats": {"external": {"url": infra.nats_url}},
        "auth": {
            "jwksUrl": f"{identity}/api/identity/v1/dev-auth/jwks",
            "issuer": f"http://127.0.0.1:{ports['gateway']}/dev-issuer",
        },
        "common": {"ENVIRONMENT": "test", "HOST": "127.0.0.1"},
        "s3": {
            "endpoint": infra.s3_endpoint,
            "secure": False,
            "uploadsBucket": f"{bucket}-uploads",
            "exportsBucket": f"{bucket}-exports",
        },
        "redis": {"url": "memory://"},
        "components": components,
    }


def _secrets(infra: TestInfra, databases: dict[str, str]) -> dict[str, dict[str, str]]:
    secrets: dict[str, dict[str, str]] = {}
    for name, prefix in PREFIXES.items():
        values = {"S3_ACCESS_KEY": infra.s3_access_key, "S3_SECRET_KEY": infra.s3_secret_key}
        database = databases.get("exports" if name == "exports-worker" else name)
        if database:
            values["DATABASE_URL"] = infra.pg_url(database)
        secrets[name] = {f"{prefix}{key}": value for key, value in values.items()}
    return secrets


@pytest.fixture
async def played(image: BuiltImage, infra: TestInfra, tmp_path: Path) -> AsyncIterator[Played]:
    release = f"kp{uuid.uuid4().hex[:6]}"
    databases: dict[str, str] = {}
    secret_names: list[str] = []
    kube_file = tmp_path / "kube.yaml"
    played = False
    try:
        for name in DATABASES:
            databases[name] = await create_database(infra, f"kp_{DATABASES[name]}")
        ports = {name: free_port() for name in PREFIXES}
        values = tmp_path / "values.yaml"
        values.write_text(yaml.safe_dump(_values(image, infra, ports, release)), encoding="utf-8")
        command = [_helm(), "template", release, str(CHART), "-f", str(SMALL), "-f", str(values)]
        rendered = (
            await asyncio.to_thread(
                subprocess.run, command, capture_output=True, text=True, check=True, timeout=120
            )
        ).stdout
        docs = [d for d in yaml.safe_load_all(rendered) if d]
        kinds = {d["kind"] for d in docs}
        assert kinds <= {"ConfigMap", "Deployment", "Job", "Service", "PodDisruptionBudget",
                         "NetworkPolicy"}, kinds  # fmt: skip
        # The Secrets the operator would create, as podman secrets (a JSON map of base64).
        for name, values_of in _secrets(infra, databases).items():
            secret = f"{release}-{name}"
            path = tmp_path / f"{secret}.json"
            encoded = {k: base64.b64encode(v.encode()).decode() for k, v in values_of.items()}
            path.write_text(json.dumps(encoded), encoding="utf-8")
            _podman(image, "secret", "create", secret, str(path), work=tmp_path)
            secret_names.append(secret)
        # The migration Jobs (Helm hooks), run as their own container spec.
        secrets = _secrets(infra, databases)
        for job in (d for d in docs if d["kind"] == "Job"):
            (container,) = job["spec"]["template"]["spec"]["containers"]
            component = job["metadata"]["labels"]["app.kubernetes.io/component"]
            env = dict(secrets[component.removesuffix("-migrate")])
            env.update({e["name"]: e["value"] for e in container.get("env", [])})
            env[f"{PREFIXES[component.removesuffix('-migrate')]}ENVIRONMENT"] = "test"
            flags = [f"--env={k}={v}" for k, v in env.items()]
            tmpfs = "/tmp"  # noqa: S108  (inside the container)
            _podman(image, "run", "--rm", "--network", "host", "--read-only", "--tmpfs", tmpfs,
                    *flags, image.name, *container["command"], work=tmp_path)  # fmt: skip
        configmaps = []
        for doc in docs:
            if doc["kind"] == "ConfigMap":
                path = tmp_path / f"cm-{doc['metadata']['name']}.yaml"
                path.write_text(yaml.safe_dump(doc), encoding="utf-8")
                configmaps += ["--configmap", str(path)]
        deployments = [_on_host_network(d) for d in docs if d["kind"] == "Deployment"]
        kube_file.write_text(yaml.safe_dump_all(deployments), encoding="utf-8")
        _podman(image, "kube", "play", "--build=false", "--network", "host", *configmaps,
                str(kube_file), work=tmp_path)  # fmt: skip
        played = True
        gateway = f"http://127.0.0.1:{ports['gateway']}"
        await _ready(f"{gateway}/readyz", image, tmp_path)
        yield Played(gateway, kube_file, tmp_path)
    finally:
        if played:
            logs = _all_logs(image, tmp_path)
            _podman(image, "kube", "down", str(kube_file), work=tmp_path, check=False)
            assert '"level": "error"' not in logs, logs[-4000:]
        for secret in secret_names:
            _podman(image, "secret", "rm", secret, work=tmp_path, check=False)
        for database in databases.values():
            await drop_database(infra, database)


def _on_host_network(deployment: dict[str, Any]) -> dict[str, Any]:
    """On the host network a container's ports are the host's: podman refuses port mappings
    there, so the container ports go and the probes name the port by number."""
    for container in deployment["spec"]["template"]["spec"]["containers"]:
        numbers = {p["name"]: p["containerPort"] for p in container.pop("ports", [])}
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            get = container.get(probe, {}).get("httpGet")
            if get and get["port"] in numbers:
                get["port"] = numbers[get["port"]]
    return deployment


def _all_logs(image: BuiltImage, work: Path) -> str:
    names = _podman(image, "ps", "-a", "--format", "{{.Names}}", work=work, check=False).split()
    return "\n".join(
        f"== {name}\n" + _podman(image, "logs", name, work=work, check=False)
        for name in names
        if not name.endswith("-infra")
    )


async def _ready(url: str, image: BuiltImage, work: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    answer = "no answer"
    async with httpx.AsyncClient(timeout=5) as client:
        while time.monotonic() < deadline:
            try:
                ready = await client.get(url)
                if ready.status_code == 200:
                    return
                answer = ready.text
            except httpx.TransportError as error:
                answer = repr(error)
            await asyncio.sleep(1)
    pytest.fail(f"the release never got ready: {answer}\n{_all_logs(image, work)[-4000:]}")


async def test_the_rendered_chart_runs_on_podman_and_a_term_is_walked_through_its_gateway(
    played: Played,
) -> None:
    state = played.work / "demo-state"
    assert await asyncio.to_thread(demo.seed_term, played.gateway, state=state)
    assert await asyncio.to_thread(demo.seed_performances, played.gateway, state=state)
    async with httpx.AsyncClient(base_url=played.gateway, timeout=30) as client:
        token = await client.post(
            "/api/identity/v1/dev-auth/token",
            json={"username": demo.ADMIN, "password": demo.PASSWORD},
        )
        assert token.status_code == 200, token.text
        headers = {"authorization": f"Bearer {token.json()['access_token']}"}
        school = await client.get(f"/api/identity/v1/schools/{demo.SCHOOL}", headers=headers)
        assert school.status_code == 200, school.text
        year, semester = school.json()["academic_year"], school.json()["semester"]
        status = await client.get(
            f"/api/course-outcomes/v1/schools/{demo.SCHOOL}/status/students",
            headers=headers,
            params={"academic_year": year, "semester": semester},
        )
        assert status.status_code == 200, status.text
        assert status.json()["items"]  # the students and their outcomes, across services
        portal = await client.get("/")
        assert portal.status_code in (200, 303)
