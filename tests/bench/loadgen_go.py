"""The compiled form-fill load generator (tests/bench/loadgen-go, Go standard library only):
built on first use into .tools/loadgen-go/ (one binary per version of its source), so the
bench's load costs a fraction of a core instead of the one Python clients eat."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

SOURCE = Path(__file__).with_name("loadgen-go")
ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / ".tools" / "loadgen-go"


def binary() -> tuple[Path | None, str]:
    """The built generator, or None and why not (`go` missing or the build failing)."""
    digest = hashlib.sha256()
    for name in ("go.mod", "main.go"):
        digest.update((SOURCE / name).read_bytes())
    target = TOOLS / f"loadgen-{digest.hexdigest()[:12]}"
    if target.exists():
        return target, f"Go load generator {target.relative_to(ROOT)}"
    go = shutil.which("go")
    if go is None:
        return None, "`go` is not installed: the Python clients generate the load (they eat a core)"
    TOOLS.mkdir(parents=True, exist_ok=True)
    print(f"building the Go load generator into {target.relative_to(ROOT)} (first use)")
    built = subprocess.run(
        [go, "build", "-o", str(target), "."],
        cwd=SOURCE,
        capture_output=True,
        text=True,
        env={**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"},
        check=False,
    )
    if built.returncode != 0:
        return (
            None,
            f"the Go load generator did not build ({built.stderr.strip()[-300:]}): Python clients",
        )
    return target, f"Go load generator {target.relative_to(ROOT)} (built now)"


async def run(
    exe: Path, url: str, key: str, n: int, concurrency: int, prefix: str, rate: float = 0
) -> dict[str, Any]:
    """Post `n` form fills (emails and correlation ids `prefix`-i) and return its JSON."""
    argv = [f"-url={url}", f"-key={key}", f"-n={n}", f"-concurrency={concurrency}"]
    argv += [f"-prefix={prefix}", f"-rate={rate}", "-duration=30m"]
    proc = await asyncio.create_subprocess_exec(
        str(exe), *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"the Go load generator failed: {err.decode(errors='replace')[-1000:]}")
    result: dict[str, Any] = json.loads(out)
    return result
