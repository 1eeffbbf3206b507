"""Publishing hostile agreements over HTTP: a 422 problem with the path, never a 500 (issue
#12, items 6 and 13)."""

from __future__ import annotations

from .conftest import Loop


async def test_hostile_agreements_are_422_problems_with_a_path(loop: Loop) -> None:
    text = (await loop.scoring.get("/v1/agreement?format=yaml")).text
    newer = text.replace('version: "2026-11"', 'version: "2026-12"')
    bomb = "".join(
        f"  l{n}: &l{n} [{', '.join([f'*l{n - 1}' if n else 'lol'] * 9)}]\n" for n in range(7)
    )
    hostile = [
        (
            newer.replace(
                r'"\\b(vp|vice president|head|director|chief|c[eotif]o)\\b"',
                r'"(?<!vice )president"',
            ),
            "fit.rules[4].value",
            "RE2",
        ),
        (
            newer.replace("  marketing: Jo Park, Head of Marketing", "  marketing: !!binary gICA"),
            "line ",
            "binary",
        ),
        (newer.replace("demo_request: 40", "demo_request: .nan"), "line ", "finite"),
        (newer.replace("demo_request: 40", "demo_request: " + "9" * 5000), "line ", "number"),
        (
            newer.replace("owners:\n", "owners:\n  deep: " + "[" * 5000 + "]" * 5000 + "\n"),
            "line ",
            "nested deeper",
        ),
        (newer.replace("sla:\n", "sla:\n" + bomb), "line ", "expands"),
    ]
    for body, where, reason in hostile:
        assert body != newer, reason
        r = await loop.scoring.post(
            "/v1/agreement", content=body, headers={"content-type": "application/yaml"}
        )
        assert r.status_code == 422, (reason, r.status_code, r.text[:300])
        assert r.headers["content-type"].startswith("application/problem+json")
        [error] = r.json()["errors"]
        assert error["field"].startswith(where) and reason in error["message"], error
    versions = (await loop.scoring.get("/v1/agreement/versions")).json()["items"]
    assert [v["version"] for v in versions] == ["2026-11"]
