"""A CSV import holds at most one bounded row at a time (#12 item 12): a row too wide (columns)
or too long (bytes) is reported by its line and skipped while it streams by, and the rows after
it are read as usual."""

from __future__ import annotations

import io

import pytest

from leadloop_intake.domain import csvimport
from leadloop_intake.domain.csvlines import CHUNK_BYTES, MAX_ROW_BYTES, BoundedLines, RowTooLong

HEADER = "email,first_name,company\n"


def good(i: int) -> str:
    return f"guest{i}@expo-dental.com,Guest {i},Expo Dental\n"


def import_rows(body: bytes) -> tuple[dict[int, str], list[int], int]:
    """(line -> error code of each bad row, lines of the good rows, most bytes the reader held)."""
    lines = BoundedLines(io.BytesIO(body))
    rows = list(csvimport.parse(lines, source="event", campaign=None))
    bad = {r.line: r.errors[0]["code"] for r in rows if r.submission is None}
    return bad, [r.line for r in rows if r.submission is not None], lines.peak


@pytest.mark.parametrize("row_bytes", [1024 * 1024, 10 * 1024 * 1024])
def test_a_too_wide_and_a_too_long_row_are_reported_by_line_and_skipped(row_bytes: int) -> None:
    wide = "wide@expo-dental.com,W,Expo" + ",x" * 1_497 + "\n"  # 1,500 columns, 3 KiB
    long = "long@expo-dental.com,L," + "C" * row_bytes + "\n"
    body = (HEADER + good(1) + wide + good(2) + long + good(3)).encode()
    bad, kept, peak = import_rows(body)
    assert bad == {3: "too_many_columns", 5: "row_too_long"}
    assert kept == [2, 4, 6]
    # What the reader holds is bounded by the cap, whatever the row's width: a 10 MB row costs
    # what a 1 MB row costs.
    assert peak <= MAX_ROW_BYTES + CHUNK_BYTES


def test_the_messages_say_what_the_limit_is() -> None:
    long = "long@expo-dental.com,L," + "C" * 100_000 + "\r\n"
    rows = list(
        csvimport.parse(
            BoundedLines(io.BytesIO((HEADER + long).encode())), source=None, campaign=None
        )
    )
    assert rows[0].errors == [
        {
            "field": "row",
            "code": "row_too_long",
            "message": f"the row is longer than {MAX_ROW_BYTES} bytes; it was skipped unread",
        }
    ]


def test_a_quoted_record_spanning_many_short_lines_is_capped_too() -> None:
    spanning = 'notes@expo-dental.com,N,"' + ("line of notes\n" * 10_000) + '"\n'
    bad, kept, peak = import_rows((HEADER + good(1) + spanning + good(2)).encode())
    assert min(bad) > 3 and set(bad.values()) >= {"row_too_long"}
    assert kept[0] == 2 and peak <= MAX_ROW_BYTES + CHUNK_BYTES


def test_a_header_too_wide_or_too_long_refuses_the_file() -> None:
    for header in ("email" + ",c" * csvimport.MAX_COLUMNS, "email," + "c" * MAX_ROW_BYTES):
        with pytest.raises(ValueError, match="header"):
            list(
                csvimport.parse(
                    BoundedLines(io.BytesIO(f"{header}\n".encode())), source=None, campaign=None
                )
            )


@pytest.mark.parametrize("chunk", [1, 2, 5, 64])
def test_line_ends_and_the_bom_survive_any_chunking(chunk: int) -> None:
    body = b'\xef\xbb\xbfemail,n\r\na@b.co,"x\r\ny"\rc@d.co,z\n\ne@f.co,w'
    lines = BoundedLines(io.BytesIO(body), max_bytes=100, chunk=chunk)
    assert list(lines) == ["email,n\r\n", 'a@b.co,"x\r\n', 'y"\r', "c@d.co,z\n", "\n", "e@f.co,w"]


def test_an_over_long_line_at_the_end_of_the_file() -> None:
    lines = BoundedLines(io.BytesIO(b"a\n" + b"b" * 100), max_bytes=40, chunk=8)
    assert next(lines) == "a\n"
    with pytest.raises(RowTooLong) as raised:
        next(lines)
    assert raised.value.line == 2
    assert list(lines) == []
