"""The red team's wide CSV rows (#12 item 12) through POST /v1/imports: a 1,500-column row and a
1 MB row are reported by line, and the good rows around them are imported. (That the reader's
memory does not grow with row width is tests/unit/intake/test_csv_bounds.py.)"""

from __future__ import annotations

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_intake.adapters.tables import leads

from .conftest import KEY

CSV = {"authorization": f"Bearer {KEY}", "content-type": "text/csv"}


async def test_a_1500_column_row_and_a_1_mb_row_are_reported_and_the_rest_imported(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    good = [f"guest{i}@expo-dental.com,Guest {i},Expo Dental" for i in range(1, 5)]
    lines = [
        "email,first_name,company",
        good[0],
        "wide@expo-dental.com,W,Expo" + ",cell" * 1_497,  # 3: 1,500 columns
        good[1],
        "long@expo-dental.com,L," + "C" * 1_048_576,  # 5: a 1 MiB row
        good[2],
        '"1,500 quoted, 700 bytes each",' + ",".join(["x" * 700] * 1_500),  # 7: both at once
        good[3],
    ]
    r = await client.post(
        "/v1/imports?source=event", content="\n".join(lines).encode() + b"\n", headers=CSV
    )
    assert r.status_code == 200, r.text
    result = r.json()
    reported = {e["line"]: e["errors"][0]["code"] for e in result["errors"]}
    assert reported == {3: "too_many_columns", 5: "row_too_long", 7: "row_too_long"}
    assert (result["rows_accepted"], result["rows_rejected"]) == (4, 3)
    async with engine.connect() as conn:
        kept = set(await conn.scalars(sa.select(leads.c.email)))
    assert kept == {g.split(",")[0] for g in good}


async def test_a_header_of_more_than_200_columns_refuses_the_file(
    client: httpx.AsyncClient,
) -> None:
    header = "email," + ",".join(f"col{i}" for i in range(300))
    r = await client.post("/v1/imports", content=f"{header}\nana@acme.com\n".encode(), headers=CSV)
    assert r.status_code == 422, r.text
    assert "at most 200" in r.json()["detail"]
