"""`leadloop leads import`: the progress line and the summary read from the services' answers,
the end only when every captured row is scored, and bad input as one line and exit 1."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadloop_cli.leads_cmd import Progress
from leadloop_cli.main import main

STATUS = {
    "state": "running",
    "rows_read": 4000,
    "rows_accepted": 3990,
    "rows_rejected": 10,
    "new_leads": 3900,
    "errors": [
        {"line": 17, "errors": [{"field": "email", "message": "not a valid email address"}]},
        {"line": 90, "errors": [{"field": "row", "message": "7 values for 6 columns"}]},
    ],
}


def test_the_line_shows_rows_scored_rate_and_time() -> None:
    progress = Progress(started=100.0, status=STATUS, scored=2000)
    assert progress.line(110.0) == (
        "4,000 rows read: 3,990 captured, 10 rejected · 2,000 scored · 200 leads/s · 10.0 s"
    )
    uploading = Progress(started=100.0, uploaded=3_500_000, size=7_000_000)
    assert uploading.line(101.0) == "uploading 3.5 of 7.0 MB · 1.0 s"


def test_done_only_once_finished_and_every_captured_row_scored() -> None:
    assert not Progress(started=0.0, status=STATUS, scored=3990).done  # still running
    finished = STATUS | {"state": "finished"}
    assert not Progress(started=0.0, status=finished, scored=3989).done
    assert Progress(started=0.0, status=finished, scored=3990).done


def test_the_summary_names_the_first_rejected_rows() -> None:
    progress = Progress(started=0.0, status=STATUS | {"state": "finished"}, scored=3990)
    progress.import_id = "imp-1"
    lines = progress.summary("expo.csv", 12.5)
    assert lines[0] == (
        "expo.csv: import imp-1: 4,000 rows in 12.5 s: 3,990 captured (3,900 new leads), "
        "10 rejected; 3,990 scored"
    )
    assert lines[1:3] == [
        "  line 17: email: not a valid email address",
        "  line 90: row: 7 values for 6 columns",
    ]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["leads", "import", "nowhere.csv", "--api-key", "k"], "nowhere.csv: no such file"),
        (["leads", "import", "{csv}", "--api-key", ""], "an API key is needed"),
        (
            ["leads", "import", "{csv}", "--api-key", "k", "--intake", "http://127.0.0.1:1"],
            "ConnectError",
        ),
    ],
    ids=["missing-file", "no-key", "intake-down"],
)
def test_bad_input_is_one_line_and_exit_1(
    args: list[str], says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "expo.csv"
    csv.write_text("email\nana@acme-dental.com\n")
    assert main([a.replace("{csv}", str(csv)) for a in args]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and says in err, err
