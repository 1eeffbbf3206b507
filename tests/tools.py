"""System tools some tests drive (Chromium, promtool, docker-compose, kubectl).

On a developer's machine without them those tests skip and say how to install them; where
`LEADLOOP_REQUIRE_TOOLS=1` (`.ci/run` sets it after `make system-deps`) a missing tool fails
the test instead, so CI cannot pass by skipping."""

from __future__ import annotations

import os
import shutil

import pytest


def require_tool(name: str) -> str:
    """The tool's path; skip (or, under LEADLOOP_REQUIRE_TOOLS, fail) when it is missing."""
    found = shutil.which(name)
    if found is not None:
        return found
    message = f"{name} is not installed (`make system-deps` installs it on Debian)"
    if os.environ.get("LEADLOOP_REQUIRE_TOOLS") == "1":
        pytest.fail(message)
    pytest.skip(message)
