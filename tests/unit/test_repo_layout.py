"""Static checks of what users run without this machine's tools: compose file, Dockerfile, CI."""

from __future__ import annotations

import re
import tomllib
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


SERVICES = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "pyproject.toml").exists())
# An import of a leadloop package at the start of a line: `import leadloop_x` or `from leadloop_x`.
IMPORT = re.compile(r"^\s*(?:from|import)\s+(leadloop_[a-z_]+)", re.MULTILINE)


def service_imports_of_others(service: str) -> list[str]:
    """`path: package` for every import in one service's files naming another service."""
    others = {f"leadloop_{name}" for name in SERVICES if name != service}
    found = []
    for path in sorted((ROOT / "services" / service).rglob("*.py")):
        for package in IMPORT.findall(path.read_text()):
            if package in others:
                found.append(f"{path.relative_to(ROOT)}: {package}")
    return found


def service_dependencies_on_others(service: str) -> list[str]:
    """The other services one service's pyproject depends on."""
    project = tomllib.loads((ROOT / "services" / service / "pyproject.toml").read_text())
    others = {f"leadloop-{name}" for name in SERVICES if name != service}
    requirements = project["project"]["dependencies"]
    names = [re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0] for r in requirements]
    return [name for name in names if name in others]


def test_no_service_imports_or_depends_on_another() -> None:
    """The contract lives in libs/: a service reads another only through events."""
    assert {"intake", "scoring", "routing", "feedback"} <= set(SERVICES)
    for service in SERVICES:
        assert service_imports_of_others(service) == [], service
        assert service_dependencies_on_others(service) == [], service


def test_the_layout_check_sees_an_import_of_another_service() -> None:
    """The check above can fail: an import line naming another service is found."""
    text = "from leadloop_scoring.domain import x\n    import leadloop_intake\n"
    assert IMPORT.findall(text) == ["leadloop_scoring", "leadloop_intake"]
    assert IMPORT.findall('"""from leadloop_scoring in words"""  # not at a line start') == []
