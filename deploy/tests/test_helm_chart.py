"""The district's Helm chart (deploy/helm/licheng): it lints, renders, every rendered object is
valid against the Kubernetes schemas (offline, kubernetes-validate), and what it declares
matches the code: commands, ports and prefixes as in deploy/stack.toml, settings the services
really read, probes on the kit's health endpoints, and network policies that keep each component
to its own database."""

from __future__ import annotations

import os
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from pydantic_settings import BaseSettings

from licheng.course_outcomes.settings import Settings as CourseOutcomesSettings
from licheng.exports.jobs.runner import WORKER_DURABLE
from licheng.exports.settings import Settings as ExportsSettings
from licheng.gateway.settings import Settings as GatewaySettings
from licheng.guidance.settings import Settings as GuidanceSettings
from licheng.identity.settings import Settings as IdentitySettings
from licheng.performances.settings import Settings as PerformancesSettings
from licheng.web.settings import Settings as WebSettings

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "licheng"
SMALL = REPO / "deploy" / "helm" / "profiles" / "small.yaml"
KUBERNETES_VERSION = "1.31.0"  # the oldest version a district is expected to run
CUSTOM_KINDS = {"ScaledObject"}  # KEDA's CRD: checked by hand below
SETTINGS: dict[str, type[BaseSettings]] = {
    "identity": IdentitySettings,
    "course-outcomes": CourseOutcomesSettings,
    "performances": PerformancesSettings,
    "guidance": GuidanceSettings,
    "exports": ExportsSettings,
    "exports-worker": ExportsSettings,
    "web": WebSettings,
    "gateway": GatewaySettings,
}


def _helm() -> str:
    helm = os.environ.get("LICHENG_HELM") or str(REPO / "var" / "tools" / "bin" / "helm")
    if not Path(helm).is_file():
        pytest.fail(f"Helm is not built at {helm}: run ./licheng test, which builds it")
    return helm


def _run(*args: str) -> str:
    done = subprocess.run(
        [_helm(), *args], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


def _render(*values: str, release: str = "district") -> list[dict[str, Any]]:
    flags = [flag for path in values for flag in ("-f", path)]
    text = _run("template", release, str(CHART), "--namespace", "licheng", *flags)
    return [doc for doc in yaml.safe_load_all(text) if doc]


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    return _render()


def _of(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def _stack() -> dict[str, dict[str, Any]]:
    declared = tomllib.loads((REPO / "deploy" / "stack.toml").read_text(encoding="utf-8"))
    return {p["name"]: p for p in declared["process"]}


def test_the_chart_lints_strictly_for_the_district_and_the_small_profile() -> None:
    assert "0 chart(s) failed" in _run("lint", "--strict", str(CHART))
    assert "0 chart(s) failed" in _run("lint", "--strict", str(CHART), "-f", str(SMALL))


@pytest.mark.parametrize("profile", ["district", "small"])
def test_every_rendered_object_is_valid_kubernetes(profile: str) -> None:
    docs = _render(str(SMALL)) if profile == "small" else _render()
    kinds = {d["kind"] for d in docs}
    assert {"Deployment", "Service", "ConfigMap", "Job", "NetworkPolicy"} <= kinds
    assert {"PodDisruptionBudget", "StatefulSet"} <= kinds
    for doc in docs:
        if doc["kind"] in CUSTOM_KINDS:
            continue
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{doc['kind']} {doc['metadata']['name']}: {error.message}")


def test_components_run_what_the_local_stack_runs(rendered: list[dict[str, Any]]) -> None:
    deployments = _of(rendered, "Deployment")
    jobs = _of(rendered, "Job")
    stack = _stack()
    assert {name.removeprefix("district-") for name in deployments} == set(stack)
    for name, process in stack.items():
        container = deployments[f"district-{name}"]["spec"]["template"]["spec"]["containers"][0]
        assert container["command"] == process["command"]
        assert container["ports"][0]["containerPort"] == process["port"]
        config = _of(rendered, "ConfigMap")[f"district-{name}"]["data"]
        assert config[f"{process['prefix']}PORT"] == str(process["port"])
        if process.get("prestart"):
            migrate = jobs[f"district-{name}-migrate"]
            assert (
                migrate["spec"]["template"]["spec"]["containers"][0]["command"]
                == (process["prestart"])
            )
            hooks = migrate["metadata"]["annotations"]["helm.sh/hook"]
            assert hooks == "pre-install,pre-upgrade"


def test_every_setting_in_a_configmap_is_one_the_component_reads(
    rendered: list[dict[str, Any]],
) -> None:
    for name, settings in SETTINGS.items():
        data = _of(rendered, "ConfigMap")[f"district-{name}"]["data"]
        prefix = str(settings.model_config.get("env_prefix"))
        for key in data:
            assert key.startswith(prefix), (name, key)
            field = key.removeprefix(prefix).lower()
            assert field in settings.model_fields, f"{name}: {key} is no setting of {settings}"
        # Values the component would refuse to start with are not in a ConfigMap.
        assert data[f"{prefix}ENVIRONMENT"] == "production"
        secret_fields = {
            f for f, info in settings.model_fields.items() if "Secret" in str(info.annotation)
        }
        assert not {k.removeprefix(prefix).lower() for k in data} & secret_fields
        assert f"{prefix}DATABASE_URL" not in data  # credentials: from the Secret
        assert data[f"{prefix}NATS_STREAM_REPLICAS"] == "3"


def test_workloads_are_hardened_probed_and_bounded(rendered: list[dict[str, Any]]) -> None:
    budgets = {
        d["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"]
        for d in _of(rendered, "PodDisruptionBudget").values()
    }
    for name, deployment in _of(rendered, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        (container,) = pod["containers"]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert set(container["resources"]) == {"requests", "limits"}
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"]["drop"] == ["ALL"]
        assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]  # noqa: S108
        refs = [source.get("secretRef", {}).get("name") for source in container["envFrom"]]
        assert name in refs  # the component's Secret, made by the operator
        component = deployment["metadata"]["labels"]["app.kubernetes.io/component"]
        assert component in budgets
    assert "nats" in budgets
    assert not _of(rendered, "Secret")  # no secret is baked into the chart


def test_secrets_are_rendered_only_when_asked_with_values(tmp_path: Path) -> None:
    given = tmp_path / "secrets.yaml"
    given.write_text(
        yaml.safe_dump(
            {
                "secrets": {
                    "create": True,
                    "values": {
                        "identity": {"LICHENG_IDENTITY_DATABASE_URL": "postgresql+asyncpg://x"}
                    },
                }
            }
        ),
        encoding="utf-8",
    )
    secrets = _of(_render(str(given)), "Secret")
    assert secrets["district-identity"]["stringData"] == {
        "LICHENG_IDENTITY_DATABASE_URL": "postgresql+asyncpg://x"
    }


def test_network_policies_keep_each_component_to_its_own_paths(
    rendered: list[dict[str, Any]],
) -> None:
    policies = _of(rendered, "NetworkPolicy")
    deny = policies["district-default-deny"]
    assert deny["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in deny["spec"]
    assert "egress" not in deny["spec"]
    database_cidr = "10.0.20.0/24"
    stack = _stack()

    def egress_cidrs(name: str) -> set[str]:
        rules = policies[f"district-{name}"]["spec"]["egress"]
        return {
            peer["ipBlock"]["cidr"] for r in rules for peer in r.get("to", []) if "ipBlock" in peer
        }

    def callers(name: str) -> set[str]:
        rules = policies[f"district-{name}"]["spec"]["ingress"]
        return {
            peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
            for rule in rules
            for peer in rule["from"]
            if "podSelector" in peer
        }

    for name, process in stack.items():
        assert (database_cidr in egress_cidrs(name)) == bool(process.get("database")), name
    assert callers("identity") == {"gateway", "exports", "exports-worker"}
    assert callers("course-outcomes") == {"gateway"}
    assert callers("web") == {"gateway"}
    assert callers("gateway") == {"web"}
    assert callers("exports-worker") == set()
    ingress_from = policies["district-gateway"]["spec"]["ingress"]
    namespaces = {
        peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for rule in ingress_from
        for peer in rule["from"]
        if "namespaceSelector" in peer
    }
    assert namespaces == {"ingress-nginx", "monitoring"}
    migrate = policies["district-migrate"]["spec"]
    assert [r["to"][0]["ipBlock"]["cidr"] for r in migrate["egress"] if "to" in r] == [
        database_cidr
    ]


def test_nats_is_a_three_node_jetstream_cluster_and_the_workers_scale_on_its_backlog(
    rendered: list[dict[str, Any]],
) -> None:
    nats = _of(rendered, "StatefulSet")["district-nats"]
    assert nats["spec"]["replicas"] == 3
    config = _of(rendered, "ConfigMap")["district-nats"]["data"]["nats.conf"]
    assert "jetstream" in config
    for index in range(3):
        assert f"nats://district-nats-{index}.district-nats-headless:6222" in config
    scaled = _of(rendered, "ScaledObject")["district-exports-worker"]
    assert scaled["spec"]["scaleTargetRef"]["name"] == "district-exports-worker"
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "nats-jetstream"
    assert trigger["metadata"]["stream"] == "EXPORT_JOBS"
    assert trigger["metadata"]["consumer"] == WORKER_DURABLE
    assert scaled["spec"]["minReplicaCount"] >= 1
    ingress = _of(rendered, "Ingress")["district"]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "district-gateway"


def test_the_small_profile_fits_one_machine() -> None:
    docs = _render(str(SMALL))
    assert all(d["spec"]["replicas"] == 1 for d in _of(docs, "Deployment").values())
    assert _of(docs, "StatefulSet")["district-nats"]["spec"]["replicas"] == 1
    assert not _of(docs, "ScaledObject")
    assert not _of(docs, "Ingress")
    config = _of(docs, "ConfigMap")["district-identity"]["data"]
    assert config["LICHENG_IDENTITY_NATS_STREAM_REPLICAS"] == "1"
