"""Without DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS the CLI uses the running dev stack's, never a
default server; with no stack running it says so in one line."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from leadloop_cli.devenv import NoDevStack, read_stack_env, use_dev_stack, write_stack_env

UNSET = (
    "DATABASE_URL",
    "LEADLOOP_DATABASE_URL",
    "KAFKA_BOOTSTRAP_SERVERS",
    "LEADLOOP_KAFKA_BOOTSTRAP_SERVERS",
)


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in UNSET}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _leadloop(cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "leadloop_cli.main", *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=_clean_env(),
        timeout=60,
    )


def _write(data_dir: Path, database_url: str) -> None:
    data_dir.mkdir(parents=True)
    write_stack_env(data_dir, {"DATABASE_URL": database_url, "KAFKA_BOOTSTRAP_SERVERS": "b:9"})


def test_without_variables_nor_stack_it_says_so_in_one_line(tmp_path: Path) -> None:
    done = _leadloop(tmp_path, "api-keys", "list")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "leadloop: DATABASE_URL is not set and no dev stack is running here (no live "
        ".leadloop/stack.json): start one with `make dev`, or export DATABASE_URL"
    ]


def test_it_connects_to_the_running_stack_from_a_subdirectory(tmp_path: Path) -> None:
    port = _closed_port()  # the stack's (stopped here) PostgreSQL: never 5432 by default
    _write(tmp_path / ".leadloop", f"postgresql://postgres@127.0.0.1:{port}/leadloop")
    (tmp_path / "docs").mkdir()
    done = _leadloop(tmp_path / "docs", "api-keys", "list")
    assert done.returncode == 1
    assert f"cannot reach PostgreSQL at 127.0.0.1:{port}" in done.stderr


def test_a_stack_whose_process_is_gone_is_no_stack(tmp_path: Path) -> None:
    _write(tmp_path / ".leadloop", "postgresql://postgres@127.0.0.1:5432/leadloop")
    stack_file = tmp_path / ".leadloop" / "stack.json"
    assert read_stack_env(tmp_path) is not None  # written by this (live) process
    stack_file.write_text(stack_file.read_text().replace(str(os.getpid()), str(_dead_pid())))
    assert read_stack_env(tmp_path) is None
    with pytest.raises(NoDevStack, match="DATABASE_URL is not set"):
        use_dev_stack({}, ("database",), tmp_path)


def test_variables_that_are_set_win_over_the_stack(tmp_path: Path) -> None:
    _write(tmp_path / ".leadloop", "postgresql://stack/leadloop")
    env = {"DATABASE_URL": "postgresql://mine/db"}
    use_dev_stack(env, ("database", "broker"), tmp_path)
    assert env == {"DATABASE_URL": "postgresql://mine/db", "KAFKA_BOOTSTRAP_SERVERS": "b:9"}
