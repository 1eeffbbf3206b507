"""The agreement file at start: a file scoring cannot use is named in one line, and a file that
differs from the agreement in force is said to differ, with both versions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from leadloop_contract.agreement import EXAMPLE_FILE

from ..processes import ServiceProcess
from .devstack import DevProcess, dev_env

pytestmark = pytest.mark.e2e

StartService = Callable[[str, dict[str, str]], Awaitable[ServiceProcess]]


def in_force(version: str) -> str:
    """The example agreement under another version."""
    text = EXAMPLE_FILE.read_text()
    old = next(line for line in text.splitlines() if line.startswith("version:"))
    return text.replace(old, f'version: "{version}"', 1)


@pytest.mark.timeout(300)
async def test_a_differing_or_broken_file_is_named_at_start(
    start_service: StartService, tmp_path: Path
) -> None:
    first = await start_service("scoring", {"LEADLOOP_AGREEMENT_FILE": str(EXAMPLE_FILE)})
    assert "differs" not in first.log.read_text()
    newer = tmp_path / "agreement-2099.yaml"
    newer.write_text(in_force("2099-01"))
    second = await start_service("scoring", {"LEADLOOP_AGREEMENT_FILE": str(newer)})
    warned = [line for line in second.log.read_text().splitlines() if "differs" in line]
    assert len(warned) == 1, second.log.read_text()[-3000:]
    assert "WARNING" in warned[0] or '"warning"' in warned[0].lower(), warned[0]
    assert "2026-11" in warned[0] and "2099-01" in warned[0] and str(newer) in warned[0]
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: [unclosed\n")
    third = await start_service("scoring", {"LEADLOOP_AGREEMENT_FILE": str(broken)})
    named = [line for line in third.log.read_text().splitlines() if str(broken) in line]
    assert len(named) == 1 and "stays in force" in named[0], third.log.read_text()[-3000:]


@pytest.mark.timeout(120)
async def test_the_dev_stack_names_a_bad_agreement_file_in_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: [unclosed\n")
    env = dev_env({"LEADLOOP_AGREEMENT_FILE": str(broken)})
    dev = DevProcess(tmp_path / "data", env, tmp_path / "dev.out").start()
    try:
        assert dev.exit_code() == 1
    finally:
        dev.stop()
    lines = [line for line in dev.output().splitlines() if line.strip()]
    assert len(lines) == 1, dev.output()
    assert lines[0].startswith(f"the stack could not start: LEADLOOP_AGREEMENT_FILE {broken}: ")
    assert "Traceback" not in dev.output()
