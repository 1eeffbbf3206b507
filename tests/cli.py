"""The `leadloop` console script as a process, run without blocking the test's event loop (the
fake vendors it calls serve in that loop)."""

from __future__ import annotations

import asyncio
import sys


async def leadloop(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """Run `leadloop <args>` in `env`; (exit code, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "leadloop_cli.main",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()
