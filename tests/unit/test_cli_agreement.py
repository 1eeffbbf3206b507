"""`leadloop agreement validate` and `leadloop agreement diff` on files."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadloop_cli.main import main
from leadloop_scoring.domain.agreement import EXAMPLE_FILE


def test_validate_accepts_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["agreement", "validate", str(EXAMPLE_FILE)]) == 0
    assert "valid agreement, version 2026-11" in capsys.readouterr().out


def test_validate_lists_every_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        EXAMPLE_FILE.read_text()
        .replace("half_life_days: 30", "half_life_days: 0")
        .replace("op: range", "op: between", 1)
    )
    assert main(["agreement", "validate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "interest.half_life_days" in err and "fit.rules[0].op" in err
    assert "invalid (2 error(s))" in err


def test_diff_in_words(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = tmp_path / "new.yaml"
    new.write_text(
        EXAMPLE_FILE.read_text()
        .replace('version: "2026-11"', 'version: "2026-12"')
        .replace("sql: {min_total: 85", "sql: {min_total: 75")
    )
    assert main(["agreement", "diff", str(EXAMPLE_FILE), str(new)]) == 0
    out = capsys.readouterr().out
    assert "From 2026-11 to 2026-12:" in out
    assert "The SQL threshold falls from 85 to 75 points: more leads become SQLs." in out
