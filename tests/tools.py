"""What some tests need from the machine: system tools (Chromium, promtool, docker-compose,
kubectl) and, for the fault tests, the embedded broker and PostgreSQL (they freeze and restart
them).

On a developer's machine without them those tests skip and say why; where
`LEADLOOP_REQUIRE_TOOLS=1` (`.ci/run` sets it after `make system-deps`) the test fails
instead, so CI cannot pass by skipping."""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest


def cannot_run_here(message: str) -> NoReturn:
    """Skip the test on a developer's machine; fail it under LEADLOOP_REQUIRE_TOOLS (CI)."""
    if os.environ.get("LEADLOOP_REQUIRE_TOOLS") == "1":
        pytest.fail(message)
    pytest.skip(message)


def require_tool(name: str) -> str:
    """The tool's path; skip (or, under LEADLOOP_REQUIRE_TOOLS, fail) when it is missing."""
    found = shutil.which(name)
    if found is None:
        cannot_run_here(f"{name} is not installed (`make system-deps` installs it on Debian)")
    return found
