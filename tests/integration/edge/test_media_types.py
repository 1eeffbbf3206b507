"""A body of a type an operation does not take is a 415 problem naming the types it does take,
on every service (issue #14, item 11), and nothing of it is stored."""

from __future__ import annotations

from leadloop_platform.settings import CommonSettings

from .conftest import AUTH, assert_problem, build_app, running

XML = {"content-type": "application/xml"}
TEXT = {"content-type": "text/plain"}


async def test_routing_scoring_and_feedback_refuse_another_type(settings: CommonSettings) -> None:
    app = build_app("routing", settings, run_workers=False)
    async with running(app, "http://routing") as http:
        r = await http.put("/v1/reps/rep-alice", content=b"<rep/>", headers=AUTH | XML)
        assert "application/json" in assert_problem(r, 415)["detail"]
        assert (await http.get("/v1/reps/rep-alice", headers=AUTH)).status_code in (404, 405)
    app = build_app("scoring", settings)
    async with running(app, "http://scoring") as http:
        before = (await http.get("/v1/agreement", headers=AUTH)).json()
        r = await http.post("/v1/agreement", content=b"<agreement/>", headers=AUTH | XML)
        assert "application/yaml" in assert_problem(r, 415)["detail"]
        assert (await http.get("/v1/agreement", headers=AUTH)).json() == before
    app = build_app("feedback", settings, run_relay=False)
    async with running(app, "http://feedback") as http:
        r = await http.post("/v1/crm/touches", content=b'{"items": []}', headers=AUTH | TEXT)
        assert "application/json" in assert_problem(r, 415)["detail"]


async def test_a_yaml_or_json_agreement_is_still_taken(settings: CommonSettings) -> None:
    app = build_app("scoring", settings)
    async with running(app, "http://scoring") as http:
        for media in ("application/yaml", "text/yaml", "application/json"):
            r = await http.post(
                "/v1/agreement", content=b"{}", headers=AUTH | {"content-type": media}
            )
            assert r.status_code == 422, (media, r.text)  # read, then found invalid
