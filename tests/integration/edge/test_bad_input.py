"""Inputs schemathesis found answered with a 500, pinned here so they stay refused as a 422
whatever the random search tries next."""

from __future__ import annotations

from typing import Any

from leadloop_platform.settings import CommonSettings

from .conftest import AUTH, assert_problem, build_app, running

REP = {"name": "Alice", "email": "rep-alice@northwind.example", "teams": ["dach"]}


UNSTORABLE: dict[str, dict[str, Any]] = {
    # was compared with the naive end time: a TypeError
    "start time with an offset": {"working_hours": {"start": "09:00:00+02:00", "end": "17:00:00"}},
    "cap past the int4 column": {"max_open_total": 2**40},
    "team past the varchar(100) column": {"teams": ["t" * 101]},
    "NUL in the name": {"name": "Ali\u0000ce"},
}


async def test_a_rep_postgres_cannot_hold_is_a_422(settings: CommonSettings) -> None:
    app = build_app("routing", settings, run_workers=False)
    async with running(app, "http://routing") as http:
        for case, change in UNSTORABLE.items():
            r = await http.put("/v1/reps/rep-alice", json=REP | change, headers=AUTH)
            assert r.status_code == 422, (case, r.text)
            assert_problem(r, 422)
        assert (await http.get("/v1/reps", headers=AUTH)).json() == {"items": [], "next": None}


async def test_a_nul_character_in_a_form_fill_is_a_422(settings: CommonSettings) -> None:
    app = build_app("intake", settings)
    async with running(app, "http://intake") as http:
        r = await http.post(
            "/v1/form-submissions",
            json={"email": "ana@acme-dental.com", "first_name": "A\u0000na"},
            headers=AUTH,
        )
        assert "NUL" in assert_problem(r, 422)["detail"]


async def test_a_time_before_year_one_in_utc_is_a_422(settings: CommonSettings) -> None:
    year_one = "0001-01-01T00:00:00+00:01"  # a minute before 0001-01-01 UTC: no datetime holds it
    app = build_app("intake", settings)
    async with running(app, "http://intake") as http:
        r = await http.post(
            "/v1/activities",
            json={"email": "ana@acme-dental.com", "type": "page_view", "occurred_at": year_one},
            headers=AUTH,
        )
        assert_problem(r, 422)
    app = build_app("feedback", settings, run_relay=False)
    async with running(app, "http://feedback") as http:
        for query in ({"from": year_one}, {"to": "0001-01-01T00:00:00Z"}):
            r = await http.get("/v1/reports/funnel", params=query, headers=AUTH)
            assert r.status_code == 422, (query, r.text)
            assert_problem(r, 422)
        review = {"end": "0001-01-03T00:00:00Z"}  # its period and the one before reach year 0
        r = await http.get("/v1/reviews/weekly", params=review, headers=AUTH)
        assert_problem(r, 422)
