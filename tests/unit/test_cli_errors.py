"""The CLI's expected failures are one line and exit 1; list commands speak JSON; every option
has help."""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys

import pytest

from leadloop_cli.failures import explain
from leadloop_cli.main import parser


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_database_is_one_line_and_exit_1() -> None:
    env = {**os.environ, "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{_closed_port()}/x"}
    env.pop("LEADLOOP_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "leadloop_cli.main", "api-keys", "list"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("leadloop: cannot reach PostgreSQL at 127.0.0.1:")
    assert "DATABASE_URL" in lines[0]


def test_a_bug_is_not_an_expected_failure() -> None:
    assert explain(ZeroDivisionError(), ("database",)) is None
    assert explain(KeyError("DATABASE_URL"), ("database",)) is None
    assert explain(ConnectionRefusedError(111, "refused"), ("database",)) is not None


def test_list_commands_print_json(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("LEADLOOP_DATABASE_URL", raising=False)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "leadloop_cli.main",
            "api-keys",
            "create",
            "--name",
            "hubspot-sync",
            "--scope",
            "intake:write",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    keys = subprocess.run(
        [sys.executable, "-m", "leadloop_cli.main", "api-keys", "list", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert [k["name"] for k in json.loads(keys.stdout)] == ["hubspot-sync"]
    parked = subprocess.run(
        [sys.executable, "-m", "leadloop_cli.main", "outbox", "parked", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert parked.returncode == 0, parked.stderr
    assert json.loads(parked.stdout) == []


def _actions(command: argparse.ArgumentParser, path: str) -> list[tuple[str, argparse.Action]]:
    found: list[tuple[str, argparse.Action]] = []
    for action in command._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found += _actions(child, f"{path} {name}")
        else:
            found.append((path, action))
    return found


def test_every_option_and_argument_has_help() -> None:
    missing = [
        f"{path}: {action.dest}"
        for path, action in _actions(parser(), "leadloop")
        if not action.help
    ]
    assert missing == []
