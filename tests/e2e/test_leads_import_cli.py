"""`leadloop leads import FILE.csv` against intake and scoring as processes: it uploads the
file, follows the import and ends only once every captured row is scored, then sums up and
names the rejected rows by line; bad input is one line and exit 1."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from ..cli import leadloop

ROWS = 60


def lead_list(path: Path) -> Path:
    """ROWS good rows of a trade-show list, and two bad ones (lines 5 and 40)."""
    rows = [
        f"visitor{i}@expo-guests.io,Visitor {i},Expo Guest {i % 7},{10 + i},Healthcare,DE,B-{i}"
        for i in range(ROWS)
    ]
    rows.insert(3, "no-at-sign.example,Nobody,,,,DE,B-x")
    rows.insert(38, "late@expo-guests.io,Late,Expo,lots,Healthcare,Atlantis,B-y")
    header = "Email,First Name,Company,Employees,Industry,Country,Badge"
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


async def test_the_cli_ends_when_every_imported_lead_is_scored(
    start_service: Callable[[str], Awaitable[Any]],
    service_env: dict[str, str],
    http: httpx.AsyncClient,
    tmp_path: Path,
) -> None:
    intake = await start_service("intake")
    scoring = await start_service("scoring")
    urls = ("--intake", intake.url, "--scoring", scoring.url)
    csv = lead_list(tmp_path / "expo-2026.csv")

    code, out, err = await leadloop(
        service_env, "leads", "import", str(csv), *urls, "--campaign", "expo-2026"
    )

    assert code == 0, err
    summary = out.splitlines()
    assert f"{ROWS + 2} rows" in summary[0]
    assert f"{ROWS} captured ({ROWS} new leads), 2 rejected; {ROWS} scored" in summary[0]
    assert summary[1].startswith("  line 5: email:")
    assert summary[2].startswith("  line 40: ")
    assert "captured" in err  # the progress line was shown
    # Scoring had scored them all when the CLI returned, each lead with its score.
    import_id = summary[0].split("import ")[1].split(":")[0]
    scored = await http.get(f"{scoring.url}/v1/imports/{import_id}/scoring")
    assert scored.json()["captures_scored"] == ROWS
    status = (await http.get(f"{intake.url}/v1/imports/{import_id}")).json()
    assert (status["state"], status["rows_accepted"], status["campaign"]) == (
        "finished",
        ROWS,
        "expo-2026",
    )


async def test_bad_input_is_one_line_and_exit_1(
    start_service: Callable[[str], Awaitable[Any]],
    service_env: dict[str, str],
    tmp_path: Path,
) -> None:
    intake = await start_service("intake")
    urls = ("--intake", intake.url, "--scoring", "http://127.0.0.1:1")
    not_csv = tmp_path / "photo.csv"
    not_csv.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    missing = tmp_path / "missing.csv"
    for path, says in [(missing, "no such file"), (not_csv, "intake answered 422")]:
        code, out, err = await leadloop(service_env, "leads", "import", str(path), *urls)
        assert code == 1
        assert out == ""
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1 and says in lines[0], err
