"""An import's batch is written set-based (its people in one upsert built once): the same leads,
submissions and lead.captured events as the same file written row by row, in file order, people
repeated within a batch included. One difference, older than the set-based upsert (the batch
merges each person once): the events of a person repeated within a batch all carry the profile
merged from the whole batch, where row by row each carries the profile as of its row."""

from __future__ import annotations

import json
from typing import Any

import httpx
import sqlalchemy as sa

from leadloop_db.engine import make_engine
from leadloop_intake.adapters.tables import leads, outbox, submissions
from leadloop_intake.bootstrap import create_app
from leadloop_intake.config import Settings

from .conftest import KEY

CSV = {"authorization": f"Bearer {KEY}", "content-type": "text/csv"}
FILE = (
    "email,first_name,last_name,company,employees,country,badge\n"
    "ann@acme-dental.example,Ann,,ACME-DENTAL,40,DE,B-1\n"
    "bob@acme-dental.example,Bob,Stone,,,GB,B-2\n"
    "ANN@Acme-Dental.example,,Lee,,55,,B-3\n"
    "not-an-email,Bad,,,,,B-4\n"
    "known@acme-dental.example,,,Known Co,,,B-5\n"
    "bob@acme-dental.example,Robert,,Globex,12,,B-6\n"
    "cy@globex.example,Cy,,Globex,,US,B-7\n"
    "ann@acme-dental.example,Annie,,,,,B-8\n"
)
REPEATED = {"ann@acme-dental.example", "bob@acme-dental.example"}
KNOWN = "email,first_name,job_title\nknown@acme-dental.example,Kay,CTO\n"
# Random per run (uuids) or the clock's: everything else must be equal.
RANDOM = {"id", "time", "subject", "correlationid", "correlation_id", "lead_id", "submission_id"}
RANDOM |= {"import_id"}
CLOCK = {"submitted_at", "received_at", "created_at", "updated_at"}


async def _import(settings: Settings, url: str, batch_rows: int) -> None:
    """A lead known beforehand, then FILE, in batches of `batch_rows` rows."""
    app = create_app(settings.model_copy(update={"database_url": url, "import_batch_rows": 1}))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://i") as c:
        r = await c.post("/v1/imports?source=event", content=KNOWN.encode(), headers=CSV)
        assert r.status_code == 200, r.text
    await app.state.engine.dispose()
    app = create_app(
        settings.model_copy(update={"database_url": url, "import_batch_rows": batch_rows})
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://i") as c:
        r = await c.post(
            "/v1/imports?source=event&campaign=fair", content=FILE.encode(), headers=CSV
        )
        assert r.status_code == 200, r.text
        assert (r.json()["rows_accepted"], r.json()["new_leads"]) == (7, 3)
    await app.state.engine.dispose()


def _plain(value: Any) -> Any:
    """`value` without what is random or the clock's."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k not in RANDOM | CLOCK}
    return [_plain(v) for v in value] if isinstance(value, list) else value


async def _stored(url: str) -> dict[str, Any]:
    """Leads, submissions (by email) and the outbox's events, in order, as comparable values."""
    engine = make_engine(url, pool_size=1)
    async with engine.connect() as conn:
        people = [
            dict(r._mapping)
            for r in await conn.execute(sa.select(leads).order_by(leads.c.email_normalized))
        ]
        email = {p["lead_id"]: p["email_normalized"] for p in people}
        kept = [dict(r._mapping) for r in await conn.execute(sa.select(submissions))]
        events = list(await conn.execute(sa.select(outbox).order_by(outbox.c.id)))
    await engine.dispose()
    return {
        "leads": [_plain(p) for p in people],
        "submissions": sorted(
            json.dumps(_plain(s) | {"who": email[s["lead_id"]]}, sort_keys=True, default=str)
            for s in kept
        ),
        "events": [
            (e.topic, email[e.key], e.event_type, _plain(json.loads(e.payload)), e.headers)
            for e in events
        ],
    }


async def test_a_batch_written_set_based_stores_what_row_by_row_stores(
    intake_settings: Settings, database_url: str, other_database_url: str
) -> None:
    await _import(intake_settings, database_url, batch_rows=1)
    await _import(intake_settings, other_database_url, batch_rows=1000)
    one_by_one, set_based = await _stored(database_url), await _stored(other_database_url)
    assert len(one_by_one["leads"]) == 4 and len(one_by_one["events"]) == 8
    assert one_by_one["leads"] == set_based["leads"]
    assert one_by_one["submissions"] == set_based["submissions"]
    final = {p["email_normalized"]: p for p in set_based["leads"]}
    for row, batched in zip(one_by_one["events"], set_based["events"], strict=True):
        who, data, batched_data = row[1], row[3]["data"], batched[3]["data"]
        profile, batched_profile = data.pop("profile"), batched_data.pop("profile")
        assert (row[:3], data, row[4]) == (batched[:3], batched_data, batched[4])
        if who in REPEATED:
            assert batched_profile == {f: final[who][f] for f in batched_profile}
        else:
            assert profile == batched_profile
