"""Static checks of what users run without this machine's tools: compose file, Dockerfile, CI."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_top_level_layout() -> None:
    for name in (
        "services",
        "libs",
        "deploy",
        "tests",
        "docker-compose.yml",
        "Makefile",
        "README.md",
        "pyproject.toml",
        "uv.lock",
        ".ci/run",
    ):
        assert (ROOT / name).exists(), name


def test_compose_runs_apache_kafka_postgres_and_every_service_package() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["postgres"]["image"].startswith("postgres:")
    runnable = [
        p.name
        for p in (ROOT / "services").iterdir()
        if (p / "src" / f"leadloop_{p.name}" / "bootstrap.py").exists()
    ]
    assert "intake" in runnable
    for name in runnable:
        assert name in services, f"service {name} missing from docker-compose.yml"
        # One Dockerfile for all: the service is a build argument naming its bootstrap module.
        build = services[name]["build"]
        dockerfile = (ROOT / build["dockerfile"]).read_text()
        assert build["args"]["SERVICE"] == name
        assert "leadloop_${LEADLOOP_IMAGE_SERVICE}.bootstrap:create_app" in dockerfile
        assert (
            services[name]["depends_on"]["setup"]["condition"] == "service_completed_successfully"
        )
    assert "leadloop migrate" in " ".join(services["setup"]["command"])
    assert (ROOT / services["intake"]["build"]["dockerfile"]).exists()


def test_ci_runs_the_readme_test_command() -> None:
    run = (ROOT / ".ci/run").read_text()
    assert "make test" in run and "set -euo pipefail" in run
    assert "make test" in (ROOT / "README.md").read_text()
