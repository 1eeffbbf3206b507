"""`leadloop --help` and `--version` start without importing the services or their drivers."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

from leadloop_cli import main
from leadloop_messaging.provisioning import DEFAULT_PARTITIONS
from leadloop_platform.auth.keys import SCOPES

HEAVY = (
    "sqlalchemy",
    "aiokafka",
    "fastapi",
    "asyncpg",
    "leadloop_intake",
    "leadloop_scoring",
    "leadloop_routing",
    "leadloop_feedback",
    "leadloop_runtime",
    "leadloop_cli.stack",
)

PROBE = """
import runpy, sys
sys.argv = ["leadloop", "--help"]
try:
    runpy.run_module("leadloop_cli.main", run_name="__main__")
except SystemExit:
    pass
print("MODULES", " ".join(sorted(sys.modules)))
"""


def test_help_imports_no_service_nor_driver() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert "usage: leadloop" in out
    modules = set(out.split("MODULES", 1)[1].split())
    loaded = sorted(m for m in modules if m.split(".")[0] in HEAVY or m in HEAVY)
    assert loaded == []


def test_version_prints_the_package_version() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "leadloop_cli.main", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0
    assert done.stdout.strip() == f"leadloop {version('leadloop-cli')}"


def test_the_cli_copies_of_library_constants_agree() -> None:
    assert main.KEY_SCOPES == SCOPES
    assert main.DEFAULT_PARTITIONS == DEFAULT_PARTITIONS
