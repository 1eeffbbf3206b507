"""The operations kit, checked by the tools that consume it: promtool for the Prometheus
config and alert rules (with their unit tests), a compose validator, kustomize; the Grafana
dashboard and the rules name only metrics the services expose."""

from __future__ import annotations

import importlib
import json
import os
import re
import secrets
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from prometheus_client import REGISTRY

from leadloop_platform.settings import CommonSettings, is_placeholder, key_weakness

from ...tools import require_tool

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
SERVICES = ("intake", "scoring", "routing", "feedback")


def broker_passwords() -> dict[str, str]:
    """compose's broker passwords: the admin's and each service's (KAFKA_<USER>_PASSWORD)."""
    users = ("ADMIN", *(name.upper() for name in SERVICES))
    return {f"KAFKA_{user}_PASSWORD": secrets.token_hex(24) for user in users}


def run(*argv: str, env: dict[str, str] | None = None) -> str:
    full = {**os.environ, **(env or {})}
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, check=False, env=full)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_prometheus_config_and_rules_pass_promtool() -> None:
    promtool = require_tool("promtool")
    run(promtool, "check", "config", str(DEPLOY / "prometheus" / "prometheus.yml"))
    run(promtool, "check", "rules", str(DEPLOY / "prometheus" / "rules" / "leadloop.yml"))
    out = run(promtool, "test", "rules", str(DEPLOY / "prometheus" / "tests" / "leadloop.test.yml"))
    assert "SUCCESS" in out


def exposed_metric_names() -> set[str]:
    """Every series name the four services can expose (their metric modules registered)."""
    for module in (
        "leadloop_platform.metrics",
        "leadloop_intake.metrics",
        "leadloop_scoring.metrics",
        "leadloop_routing.metrics",
        "leadloop_feedback.metrics",
    ):
        importlib.import_module(module)
    names = {"up"}
    for family in REGISTRY.collect():
        if family.type == "counter":
            names.add(f"{family.name}_total")
        elif family.type == "histogram":
            names |= {f"{family.name}_{s}" for s in ("bucket", "sum", "count")}
        else:
            names.add(family.name)
    return names


def metric_names(expr: str) -> set[str]:
    return set(re.findall(r"\b(leadloop_[a-z_]+|up)\b(?=\s*[{\[)\s]|$)", expr))


def test_every_dashboard_query_names_an_exposed_metric() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "leadloop.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(exprs) >= 20
    exposed = exposed_metric_names()
    for expr in exprs:
        named = metric_names(expr)
        assert named, f"no metric in {expr}"
        assert named <= exposed, f"{expr} names {named - exposed}, which no service exposes"
    titles = {p["title"] for p in dashboard["panels"]}
    for wanted in (
        "Consumer lag, by service and topic",
        "Outbox backlog",
        "Dead-lettered records",
        "Hand-off latency: SQL → lead alert",
        "SLA breaches, by team and step",
    ):
        assert wanted in titles
    provisioned = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )
    assert provisioned["datasources"][0]["uid"] == "prometheus"


def test_every_alert_rule_names_an_exposed_metric() -> None:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "rules" / "leadloop.yml").read_text())
    exposed = exposed_metric_names()
    alerts = {r["alert"]: r["expr"] for g in rules["groups"] for r in g["rules"]}
    assert set(alerts) == {
        "LeadloopServiceDown",
        "LeadloopHandoffSlow",
        "LeadloopConsumerLagGrowing",
        "LeadloopOutboxBacklogGrowing",
        "LeadloopOutboxStale",
        "LeadloopDeadLetters",
        "LeadloopSlaBreachRateHigh",
        "LeadloopBackgroundTaskFailed",
        "LeadloopOutboxParked",
        "LeadloopDeadLetterNotWhole",
        "LeadloopConnectorDeliveriesFailing",
    }
    for name, expr in alerts.items():
        assert metric_names(expr) <= exposed, f"{name}: {metric_names(expr) - exposed}"


def test_metric_labels_stay_bounded() -> None:
    """No label that could carry a lead id, an email or free text."""
    exposed_metric_names()
    allowed = {
        "service",
        "method",
        "route",
        "status",
        "topic",
        "type",
        "outcome",
        "partition",
        "channel",
        "source",
        "new_lead",
        "activity_type",
        "task",
        "team",
        "rep",
        "step",
        "to",
        "grade",
        "from_stage",
        "to_stage",
        "stage",
        "kind",
        "value",
        "how",
        "connector",
        "sobject",
        "object_type",
        "le",
    }
    for family in REGISTRY.collect():
        if not family.name.startswith("leadloop_"):
            continue
        for sample in family.samples:
            assert set(sample.labels) <= allowed, (family.name, sample.labels)


def test_compose_file_validates() -> None:
    compose = require_tool("docker-compose")
    out = run(
        compose,
        "-f",
        "docker-compose.yml",
        "config",
        env={
            "LEADLOOP_BOOTSTRAP_API_KEY": "a-random-key-of-24-characters-or-more",
            **broker_passwords(),
        },
    )
    config = yaml.safe_load(out)
    assert {"kafka", "postgres", "setup", *SERVICES, "prometheus", "grafana"} <= set(
        config["services"]
    )
    assert "--partitions" in " ".join(config["services"]["setup"]["command"])
    for name in SERVICES:
        service = config["services"][name]
        assert service["build"]["dockerfile"] == "deploy/Dockerfile"
        assert service["build"]["args"]["SERVICE"] == name
        assert service["depends_on"]["setup"]["condition"] == "service_completed_successfully"
        assert service["environment"]["LEADLOOP_KAFKA_ENABLE_IDEMPOTENCE"] == "true"


def test_one_multi_stage_non_root_image_recipe_takes_the_service_as_a_build_argument() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", text, flags=re.M)) == 2
    assert len(re.findall(r"^ARG SERVICE", text, flags=re.M)) == 2  # one per stage
    assert re.search(r"^USER (?!root|0\b)\S+", text, flags=re.M)
    assert "HEALTHCHECK" in text and "/healthz" in text
    assert "--package leadloop-${SERVICE}" in text
    assert "leadloop_${LEADLOOP_IMAGE_SERVICE}.bootstrap:create_app" in text
    assert not list((ROOT / "services").glob("*/Dockerfile")), "one Dockerfile: deploy/Dockerfile"
    for name in SERVICES:  # what the image runs for each SERVICE exists
        assert (ROOT / "services" / name / "src" / f"leadloop_{name}" / "bootstrap.py").exists()


def test_kustomize_renders_the_expected_objects() -> None:
    kubectl = require_tool("kubectl")
    docs = list(yaml.safe_load_all(run(kubectl, "kustomize", str(DEPLOY / "k8s"))))
    kinds: dict[str, set[str]] = {}
    for doc in docs:
        kinds.setdefault(doc["kind"], set()).add(doc["metadata"]["name"])
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "leadloop"
    for kind in ("Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler"):
        assert kinds[kind] == set(SERVICES), kind
    assert "leadloop-secrets" in kinds["Secret"] and "leadloop-setup" in kinds["Job"]
    assert any(n.startswith("leadloop-agreement-") for n in kinds["ConfigMap"])
    for doc in docs:
        if doc["kind"] == "Deployment":
            container = doc["spec"]["template"]["spec"]["containers"][0]
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
            assert container["resources"]["requests"]["cpu"]
        if doc["kind"] == "HorizontalPodAutoscaler":
            assert doc["spec"]["maxReplicas"] <= 6, "more replicas than partitions sit idle"


def test_the_agreement_in_kubernetes_is_the_example() -> None:
    example = ROOT / "libs/contract/src/leadloop_contract/agreement/agreement.example.yaml"
    assert (DEPLOY / "k8s" / "agreement.yaml").read_text() == example.read_text()


def test_compose_ships_no_usable_secret() -> None:
    """Without a bootstrap key compose refuses to start; optional secrets stay unset (never ""),
    and uvicorn caps request headers."""
    compose = require_tool("docker-compose")
    done = subprocess.run(
        [compose, "-f", "docker-compose.yml", "config"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        env={
            **{k: v for k, v in os.environ.items() if k != "LEADLOOP_BOOTSTRAP_API_KEY"},
            **broker_passwords(),
        },
    )
    assert done.returncode != 0 and "LEADLOOP_BOOTSTRAP_API_KEY" in done.stderr
    unset = {k: v for k, v in os.environ.items() if not k.startswith("LEADLOOP_")}
    config = yaml.safe_load(
        run(
            compose,
            "-f",
            "docker-compose.yml",
            "config",
            env={
                **unset,
                "LEADLOOP_BOOTSTRAP_API_KEY": secrets.token_hex(24),
                **broker_passwords(),
            },
        )
    )
    for name in (*SERVICES, "setup"):
        environment = config["services"][name]["environment"]
        for variable, value in environment.items():
            if re.search(r"SECRET|PASSWORD|API_KEY", variable):
                assert value is None or is_placeholder(str(value)) is False, (name, variable)
        if name != "setup":
            assert environment["UVICORN_HTTP"] == "h11"
            assert int(environment["UVICORN_H11_MAX_INCOMPLETE_EVENT_SIZE"]) <= 16 * 1024


def test_kubernetes_ships_no_secret_that_passes() -> None:
    """Every value in the shipped Secret is refused at start in production."""
    secret = yaml.safe_load((DEPLOY / "k8s" / "secrets.yaml").read_text())
    values = secret["stringData"]
    assert key_weakness(values["LEADLOOP_BOOTSTRAP_API_KEY"]) is not None
    with pytest.raises(ValueError, match="LEADLOOP_BOOTSTRAP_API_KEY"):
        CommonSettings(env="production", bootstrap_api_key=values["LEADLOOP_BOOTSTRAP_API_KEY"])
    for variable, value in values.items():
        if variable != "DATABASE_URL":
            assert is_placeholder(value) or key_weakness(value), variable
    assert urlsplit(values["DATABASE_URL"]).password == "change-me"
    kustomization = yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text())
    literals = kustomization["configMapGenerator"][0]["literals"]
    assert "UVICORN_HTTP=h11" in literals and "LEADLOOP_ENV=production" in literals
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "UVICORN_HTTP=h11" in dockerfile
