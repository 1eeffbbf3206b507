"""A CSV lead list with structurally broken rows (the shapes real exports have: short and long
rows, a NUL byte, bytes that are not UTF-8, a value too long, an unclosed quote, blank lines,
Windows line ends and a BOM): every bad row is reported with its line and why, and every good
row, before and after the bad ones, is kept. (tests/integration/intake covers invalid fields,
duplicates, multipart and a file without an email column.)"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_intake.adapters import tables
from leadloop_platform.settings import CommonSettings

from .conftest import AUTH, build_app, running

GOOD = [f"rep{i}@expo-dental.com,Guest {i},Expo Dental {i},DE" for i in range(1, 6)]
LINES = [
    "\ufeffEmail,First Name,Company,Country",  # 1: header, with the BOM Excel writes
    GOOD[0],  # 2
    "short@expo-dental.com,Only Two",  # 3: too few values
    "long@expo-dental.com,Too,Many,DE,extra",  # 4: too many values
    GOOD[1],  # 5
    "nul@expo-dental.com,Nu\x00ll,Expo,DE",  # 6: a NUL byte (PostgreSQL cannot store it)
    "",  # 7: blank line, skipped
    GOOD[2],  # 8
    "huge@expo-dental.com,Huge," + "C" * 5000 + ",DE",  # 9: company far past its limit
    "latin@expo-dental.com,Ren\udce9,Expo,DE",  # 10: a byte that is not UTF-8 (kept, replaced)
    GOOD[3],  # 11
    "",  # 12
    GOOD[4],  # 13
    'open@expo-dental.com,"Unclosed,Expo,DE',  # 14: an unclosed quote runs to the end
]
BAD_LINES = {3: "column_count", 4: "column_count", 6: "nul", 9: "company", 14: "column_count"}


async def test_broken_rows_are_reported_and_good_rows_kept(
    settings: CommonSettings, engine: AsyncEngine
) -> None:
    body = "\r\n".join(LINES).encode("utf-8", "surrogateescape") + b"\r\n"
    app = build_app("intake", settings, import_batch_rows=3)  # several batches, bad rows in each
    async with running(app, "http://intake") as http:
        nul_header = await http.post(
            "/v1/imports",
            content=b"email,no\x00te\nana@acme-dental.com,hello\n",
            headers={**AUTH, "content-type": "text/csv"},
        )
        assert nul_header.status_code == 422, nul_header.text  # refused whole, before any write
        r = await http.post(
            "/v1/imports?source=event&campaign=expo-2026",
            content=body,
            headers={**AUTH, "content-type": "text/csv"},
        )
    assert r.status_code == 200, r.text
    result = r.json()
    reported = {e["line"]: e["errors"] for e in result["errors"]}
    assert sorted(reported) == sorted(BAD_LINES), reported
    for line, why in BAD_LINES.items():
        assert any(why in (e["field"] + e["code"]).lower() for e in reported[line]), reported[line]
    assert (result["rows_accepted"], result["rows_rejected"]) == (6, 5)
    async with engine.connect() as conn:
        kept = set(await conn.scalars(sa.select(tables.leads.c.email)))
    assert kept == {g.split(",")[0] for g in GOOD} | {"latin@expo-dental.com"}
