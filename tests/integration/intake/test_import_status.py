"""A CSV import answered at once (`Prefer: respond-async`) and followed through its status
resource: rows read, accepted and rejected with their line numbers, its state; each good row
is the same `lead.captured` a form fill is, naming the import."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from leadloop_events import topics
from leadloop_intake.bootstrap import create_app
from leadloop_intake.config import Settings
from tests.waiting import wait_for

from ..messaging.support import read_all
from .conftest import KEY

AUTH = {"authorization": f"Bearer {KEY}"}
ASYNC_CSV = AUTH | {"content-type": "text/csv", "prefer": "respond-async"}
ANA = {
    "email": "ana.lopez@acme-dental.com",
    "first_name": "Ana",
    "company": "ACME Dental",
    "company_size": 240,
    "industry": "Healthcare",
    "country": "DE",
    "source": "event",
    "campaign": "expo-2026",
}
ANA_ROW = "ana.lopez@acme-dental.com,Ana,ACME Dental,240,Healthcare,de"
HEADER = "Email,First Name,Company,Employees,Industry,Country"


@pytest.fixture
async def small_batches(intake_settings: Settings) -> Any:
    """Intake with its relay, writing imports 4 rows per transaction."""
    app = create_app(intake_settings.model_copy(update={"import_batch_rows": 4}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
            yield client


async def finished(client: httpx.AsyncClient, location: str) -> dict[str, Any]:
    """The import's status once its state is no longer `running`."""
    seen: dict[str, Any] = {}

    async def done() -> bool:
        r = await client.get(location, headers=AUTH)
        assert r.status_code == 200, r.text
        seen.update(r.json())
        return bool(seen["state"] != "running")

    await wait_for(done, what=f"{location} to finish", detail=lambda: _text(seen))
    return seen


async def _text(seen: dict[str, Any]) -> str:
    return json.dumps(seen)


async def test_an_import_answered_at_once_is_followed_to_its_end(
    small_batches: httpx.AsyncClient,
) -> None:
    rows = [f"guest{i}@trade-fair.io,Guest {i},Fair Co,12,Retail,GB" for i in range(9)]
    rows.insert(2, "not-an-email,Bad,,,,")
    rows.insert(7, "guest-x@trade-fair.io,X,Fair Co,12,Retail,ZZ")
    body = HEADER + ",Badge Number\n" + "\n".join(r + ",B-1" for r in rows) + "\n"
    r = await small_batches.post(
        "/v1/imports?source=event&campaign=fair-2026", content=body, headers=ASYNC_CSV
    )
    assert r.status_code == 202, r.text
    assert r.headers["preference-applied"] == "respond-async"
    location = r.headers["location"]
    assert location == f"/v1/imports/{r.json()['import_id']}"
    assert r.json()["state"] in {"running", "finished"}

    status = await finished(small_batches, location)
    assert status["state"] == "finished" and status["failure"] is None
    assert (status["rows_read"], status["rows_accepted"], status["rows_rejected"]) == (11, 9, 2)
    assert status["new_leads"] == 9
    assert [e["line"] for e in status["errors"]] == [4, 9]  # the header is line 1
    assert [e["errors"][0]["field"] for e in status["errors"]] == ["email", "country"]
    assert (status["source"], status["campaign"]) == ("event", "fair-2026")
    assert status["errors_truncated"] is False
    one = await small_batches.get(f"{location}?errors=1", headers=AUTH)
    assert len(one.json()["errors"]) == 1 and one.json()["errors_truncated"] is True


async def test_an_imported_row_is_captured_as_a_form_fill_is(
    small_batches: httpx.AsyncClient, settings: Settings
) -> None:
    form = await small_batches.post("/v1/form-submissions", json=ANA, headers=AUTH)
    assert form.status_code == 202, form.text
    r = await small_batches.post(
        "/v1/imports?source=event&campaign=expo-2026",
        content=f"{HEADER}\n{ANA_ROW}\n",
        headers=ASYNC_CSV,
    )
    assert r.status_code == 202, r.text
    await finished(small_batches, r.headers["location"])

    records = await read_all(
        settings.kafka_bootstrap_servers, settings.topic(topics.INTAKE), expect=2
    )
    filled, imported = (json.loads(rec.value) for rec in records)
    assert imported["data"].pop("import_id") == r.json()["import_id"]
    assert "import_id" not in filled["data"]  # a form fill's event is as it always was
    for event in (filled, imported):
        for key in ("id", "time", "correlationid"):
            event.pop(key)
        for key in ("submission_id", "submitted_at", "channel", "is_new_lead"):
            event["data"].pop(key)
    assert imported == filled


@pytest.mark.parametrize(
    ("content_type", "body", "status", "kind"),
    [
        ("image/png", b"\x89PNG\r\n\x1a\n\x00\x00", 415, "unsupported-media-type"),
        ("text/csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 422, "invalid-csv"),
        ("text/csv", b"name,company\nAna,ACME\n", 422, "invalid-csv"),
        ("text/csv", b"", 422, "invalid-csv"),
    ],
    ids=["png-type", "png-as-csv", "no-email-column", "empty"],
)
async def test_a_file_that_cannot_be_imported_is_a_problem(
    small_batches: httpx.AsyncClient, content_type: str, body: bytes, status: int, kind: str
) -> None:
    headers = ASYNC_CSV | {"content-type": content_type}
    r = await small_batches.post("/v1/imports", content=body, headers=headers)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"].endswith(kind)


async def test_an_unknown_import_is_a_404(small_batches: httpx.AsyncClient) -> None:
    r = await small_batches.get("/v1/imports/no-such-import", headers=AUTH)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
