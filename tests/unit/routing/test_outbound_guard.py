"""The outbound guard (leadloop_platform.outbound): every SSRF spelling the red team used is
refused, at subscription (routing's HTTP API) and when connecting (after DNS resolution),
unless LEADLOOP_WEBHOOK_ALLOWED_HOSTS names the target."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from leadloop_platform.outbound import AllowList, OutboundPolicy, RefusedTarget, excerpt
from leadloop_routing.bootstrap import create_app
from leadloop_routing.config import Settings

KEY = "llk_routing_guard_tests_key_with_every_scope"

SSRF = [
    "http://127.0.0.1/hooks",
    "http://127.1/hooks",
    "http://localhost:8080/hooks",
    "http://sub.localhost/hooks",
    "http://0.0.0.0/",
    "http://0/",
    "http://[::1]/hooks",
    "http://[::]/hooks",
    "http://169.254.169.254/latest/meta-data/",
    "http://2852039166/latest/meta-data/",
    "http://0xa9fea9fe/latest/meta-data/",
    "http://0xa9.0xfe.0xa9.0xfe/",
    "http://0251.0376.0251.0376/latest/meta-data/",
    "http://169.254.43518/",
    "http://[::ffff:169.254.169.254]/latest/meta-data/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[2002:a9fe:a9fe::1]/",
    "http://[fe80::1]/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://metadata/computeMetadata/v1/",
    "http://10.0.0.5/hooks",
    "http://172.16.3.4/hooks",
    "http://192.168.1.1/hooks",
    "http://100.64.0.1/hooks",
    "http://[fd12:3456::1]/hooks",
    "http://224.0.0.1/",
    "http://240.0.0.1/",
    "http://255.255.255.255/",
    "http://198.18.0.1/",
    "https://user:pass@crm.northwind.example/hooks",
    "https://token@crm.northwind.example/hooks",
    "ftp://crm.northwind.example/hooks",
    "file:///etc/passwd",
    "gopher://crm.northwind.example:70/_x",
]


@pytest.mark.parametrize("url", SSRF)
def test_the_guard_refuses_every_spelling(url: str) -> None:
    with pytest.raises(RefusedTarget):
        OutboundPolicy().check_url(url)


@pytest.fixture(scope="module")
def routing_api() -> Iterator[httpx.AsyncClient]:
    """Routing's HTTP API without its workers: a refused URL never reaches the database."""
    app = create_app(Settings(bootstrap_api_key=KEY, env="test", log_json=False))
    yield httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://routing",
        headers={"authorization": f"Bearer {KEY}"},
    )


@pytest.mark.parametrize("url", SSRF)
async def test_a_subscription_to_any_spelling_is_a_422_naming_url(
    routing_api: httpx.AsyncClient, url: str
) -> None:
    r = await routing_api.post("/v1/webhook-subscriptions", json={"url": url})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in r.json()["errors"]] == ["url"]


@pytest.mark.parametrize(
    "url",
    [
        "https://crm.northwind.example/hooks",
        "http://93.184.216.34/hooks",
        "https://[2606:4700::1]/",
    ],
)
def test_public_targets_pass(url: str) -> None:
    OutboundPolicy().check_url(url)


def test_the_allow_list_lets_named_hosts_addresses_and_networks_through() -> None:
    policy = OutboundPolicy(allowed=AllowList.parse("localhost, 127.0.0.1, 10.0.0.0/8, ::1"))
    for url in ("http://localhost/", "http://127.0.0.1/", "http://10.1.2.3/", "http://[::1]/"):
        policy.check_url(url)
    for url in ("http://127.0.0.2/", "http://192.168.0.1/", "http://169.254.169.254/"):
        with pytest.raises(RefusedTarget):
            policy.check_url(url)


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "not a host!", "crm/.x"])
def test_a_bad_allow_list_entry_stops_the_start(entry: str) -> None:
    with pytest.raises(ValueError):
        Settings(webhook_allowed_hosts=f"localhost,{entry}")


def resolving(table: dict[str, list[str]]) -> OutboundPolicy:
    async def resolver(host: str, port: int) -> list[str]:
        return table[host]

    return OutboundPolicy(resolver=resolver)


async def test_a_name_resolving_to_a_private_address_is_refused_when_connecting() -> None:
    policy = resolving(
        {"rebind.attacker.example": ["93.184.216.34", "127.0.0.1"], "ok.example": ["8.8.8.8"]}
    )
    with pytest.raises(RefusedTarget, match="loopback"):
        await policy.resolve("rebind.attacker.example", 443)
    with pytest.raises(RefusedTarget, match="loopback"):
        await policy.check_target("https://rebind.attacker.example/hooks")
    assert await policy.resolve("ok.example", 443) == ["8.8.8.8"]


def test_the_log_excerpt_is_short_and_has_no_control_characters() -> None:
    body = b"\x1b[31mboom\r\nBcc: evil@attacker.example\x00" + b"x" * 5000
    text = excerpt(body)
    assert len(text) <= 200
    assert "boom Bcc: evil@attacker.example" in text
    assert not any(ord(c) < 32 or ord(c) == 127 for c in text)
