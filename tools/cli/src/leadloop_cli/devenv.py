"""Where the running dev stack is: `leadloop dev` writes `.leadloop/stack.json`, other shells'
`leadloop` commands read it when DATABASE_URL or KAFKA_BOOTSTRAP_SERVERS is not set.

The file names the stack's pid: a file whose process is gone is no stack (a stack killed with
-9 cannot remove it), so a CLI never talks to a stopped stack's ports or to some other
PostgreSQL on 127.0.0.1:5432 by default.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, MutableMapping
from pathlib import Path

STACK_FILE = "stack.json"
DATA_DIR = ".leadloop"
# What each need reads, in the order CommonSettings reads it.
VARIABLES = {
    "database": ("LEADLOOP_DATABASE_URL", "DATABASE_URL"),
    "broker": ("LEADLOOP_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS"),
}


class NoDevStack(RuntimeError):
    """Neither the environment nor a running dev stack says where to connect."""


def write_stack_env(data_dir: Path, env: Mapping[str, str]) -> Path:
    """Record this (running) stack's pid, DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS."""
    path = data_dir / STACK_FILE
    names = ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "LEADLOOP_TOPIC_PREFIX")
    document = {"pid": os.getpid(), **{name: env[name] for name in names if env.get(name)}}
    path.write_text(json.dumps(document, indent=2) + "\n")
    path.chmod(0o600)  # the database URL may carry a password
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def find_stack_file(start: Path) -> Path | None:
    """`.leadloop/stack.json` in `start` or the nearest parent that has one."""
    for folder in (start, *start.parents):
        candidate = folder / DATA_DIR / STACK_FILE
        if candidate.is_file():
            return candidate
    return None


def read_stack_env(start: Path) -> dict[str, str] | None:
    """The running dev stack's variables, or None when there is no file or its stack is gone."""
    path = find_stack_file(start)
    if path is None:
        return None
    document = json.loads(path.read_text())
    if not isinstance(document.get("pid"), int) or not _alive(document["pid"]):
        return None
    return {k: v for k, v in document.items() if k != "pid" and isinstance(v, str)}


def use_dev_stack(env: MutableMapping[str, str], needs: tuple[str, ...], start: Path) -> None:
    """Fill the variables `needs` ("database", "broker") lacks from the running dev stack, or
    raise NoDevStack naming what to set."""
    missing = [need for need in needs if not any(env.get(v) for v in VARIABLES[need])]
    if not missing:
        return
    stack = read_stack_env(start)
    for need in missing:
        name = VARIABLES[need][-1]
        if stack is None or name not in stack:
            raise NoDevStack(
                f"{name} is not set and no dev stack is running here (no live "
                f"{DATA_DIR}/{STACK_FILE}): start one with `make dev`, or export {name}"
            )
        env[name] = stack[name]
    if stack and "LEADLOOP_TOPIC_PREFIX" in stack:
        env.setdefault("LEADLOOP_TOPIC_PREFIX", stack["LEADLOOP_TOPIC_PREFIX"])
