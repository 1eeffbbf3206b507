"""The API pages work on an air-gapped machine: /docs and /redoc load nothing from elsewhere."""

from __future__ import annotations

import re

import pytest

from leadloop_platform.settings import CommonSettings

from .conftest import build_app, running

QUIET = {"run_relay": False, "run_consumer": False}
ORIGIN = re.compile(r"https?://", re.IGNORECASE)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_api_pages_load_only_from_the_service(settings: CommonSettings, page: str) -> None:
    app = build_app("intake", settings, run_relay=False)
    async with running(app, "http://intake") as http:
        r = await http.get(page)
        assert r.status_code == 200, r.text
        html = r.text
        policy = r.headers["content-security-policy"]
        assert not ORIGIN.search(policy), policy
        assert "'unsafe-eval'" not in policy
        urls = re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r"url: '([^']+)'", html)
        assert urls, html
        for url in urls:
            assert not ORIGIN.match(url), f"{page} loads {url} from elsewhere"
        nonces = set(re.findall(r'<script nonce="([^"]+)"', html))
        assert all(f"'nonce-{n}'" in policy for n in nonces)
        assets = [u for u in urls if u.startswith("/docs/assets/")]
        assert assets, urls
        for asset in assets:
            got = await http.get(asset)
            assert got.status_code == 200, asset
            assert len(got.content) > 1000, asset
        spec = await http.get("/openapi.json")
        assert spec.status_code == 200 and spec.json()["openapi"].startswith("3.")
