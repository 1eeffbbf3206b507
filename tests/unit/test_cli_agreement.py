"""`leadloop agreement validate` and `leadloop agreement diff` on files."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadloop_cli.main import main
from leadloop_contract.agreement import EXAMPLE_FILE


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


def test_validate_refuses_a_bare_no_naming_its_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "norway.yaml"
    bad.write_text(EXAMPLE_FILE.read_text().replace('SE, "NO", DK, FI, GB', "SE, NO, DK, FI, GB"))
    assert main(["agreement", "validate", str(bad)]) == 1
    captured = capsys.readouterr()
    assert "valid agreement" not in captured.out
    assert captured.err.splitlines() == [
        f'{bad}: fit.rules[2].value[4]: write "NO" in quotes: a bare NO is read as false',
        f"{bad}: invalid (1 error(s))",
    ]


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


HOSTILE_FILES = {
    "binary.yaml": EXAMPLE_FILE.read_text().replace(
        "  marketing: Jo Park, Head of Marketing", "  marketing: !!binary gICA"
    ),
    "nan.yaml": EXAMPLE_FILE.read_text().replace("demo_request: 40", "demo_request: .nan"),
    "deep.yaml": "version: x\nsla: " + "[" * 5000 + "]" * 5000 + "\n",
    "digits.yaml": EXAMPLE_FILE.read_text().replace(
        "demo_request: 40", "demo_request: " + "9" * 5000
    ),
    "bomb.yaml": "a: &a [x, x, x, x, x, x, x, x, x]\n"
    + "".join(
        f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdef", "bcdefg", strict=True)
    ),
    "lookaround.yaml": EXAMPLE_FILE.read_text().replace(
        r'"\\b(vp|vice president|head|director|chief|c[eotif]o)\\b"', r'"(?<!vice )president"'
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_FILES))
def test_validate_refuses_hostile_files_in_one_line_each(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / name
    bad.write_text(HOSTILE_FILES[name])
    assert main(["agreement", "validate", str(bad)]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines == [lines[0], f"{bad}: invalid (1 error(s))"], lines
    assert "Traceback" not in lines[0]


def test_validate_refuses_a_file_that_is_not_utf8(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"version: caf\xe9\n")
    assert main(["agreement", "validate", str(bad)]) == 1
    assert capsys.readouterr().err.splitlines() == [f"{bad}: not UTF-8 text (byte 12)"]


def test_publish_without_a_key_says_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("LEADLOOP_API_KEY", raising=False)
    assert main(["agreement", "publish", str(EXAMPLE_FILE), "--rescore"]) == 1
    assert len(capsys.readouterr().err.splitlines()) == 1


def test_publish_an_unreadable_file_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.yaml"
    assert main(["agreement", "publish", str(missing), "--api-key", "llk_x"]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"{missing}: cannot read")


def test_publish_to_no_scoring_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from leadloop_cli.infra import free_port

    url = f"http://127.0.0.1:{free_port()}"
    argv = ["agreement", "publish", str(EXAMPLE_FILE), "--api-key", "llk_x", "--scoring-url", url]
    assert main(argv) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"scoring at {url}: ")
