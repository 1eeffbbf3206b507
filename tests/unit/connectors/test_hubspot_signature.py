"""HubSpot's v3 request signature: ours agrees with the HubSpot SDK's and refuses what it must."""

from __future__ import annotations

import pytest
from hubspot.utils.signature import Signature

from leadloop_connectors.hubspot import (
    SignatureInvalid,
    canonical_uri,
    signature_v3,
    signed_headers,
    verify_v3,
)

SECRET = "a1b2c3d4-client-secret"
NOW = 1_800_000_000_000
CASES = [
    ("https://leadloop.example.com/v1/hubspot/events", b'[{"objectId": 1}]'),
    ("https://leadloop.example.com/v1/hubspot/contacts?portal=62515&x=1", b'{"email": "a@b.io"}'),
    ("http://127.0.0.1:8000/hooks", b""),
    ("https://x.io/v1/hubspot/events", '{"company": "Ålesund Fisk AS", "note": "😀"}'.encode()),
]


@pytest.mark.parametrize(("uri", "body"), CASES)
def test_our_signature_is_the_hubspot_sdks(uri: str, body: bytes) -> None:
    oracle = Signature.get_signature(
        SECRET, body.decode(), "v3", http_uri=uri, http_method="POST", timestamp=str(NOW)
    )
    assert signature_v3(SECRET, "POST", uri, body, str(NOW)) == oracle


def test_escaped_uris_are_signed_decoded_as_hubspot_documents() -> None:
    escaped = "https://x.io/hooks/a%3Ab%40c%2Fd?next=%2Fhome%2ffeed&q=%20"
    decoded = "https://x.io/hooks/a:b@c/d?next=/home/feed&q=%20"
    assert canonical_uri(escaped) == decoded
    oracle = Signature.get_signature(
        SECRET, "{}", "v3", http_uri=decoded, http_method="POST", timestamp=str(NOW)
    )
    assert signature_v3(SECRET, "POST", escaped, b"{}", str(NOW)) == oracle


def test_signed_headers_verify_and_the_sdk_agrees() -> None:
    uri, body = CASES[1]
    headers = signed_headers(SECRET, "POST", uri, body, NOW)
    verify_v3(
        secret=SECRET,
        method="POST",
        uri=uri,
        body=body,
        timestamp=headers["X-HubSpot-Request-Timestamp"],
        signature=headers["X-HubSpot-Signature-v3"],
        now_ms=NOW + 2_000,
    )
    assert (
        Signature.get_signature(SECRET, body.decode(), "v3", http_uri=uri, timestamp=str(NOW))
        == headers["X-HubSpot-Signature-v3"]
    )


@pytest.mark.parametrize("case", ["forged", "stale", "future", "missing", "not-ms", "tampered"])
def test_refusals(case: str) -> None:
    uri, body = CASES[0]
    ts = str(NOW)
    sent = body
    signature: str | None = signature_v3(SECRET, "POST", uri, body, ts)
    if case == "forged":
        signature = signature_v3("someone-else", "POST", uri, body, ts)
    elif case in ("stale", "future"):
        ts = str(NOW - 301_000 if case == "stale" else NOW + 301_000)
        signature = signature_v3(SECRET, "POST", uri, body, ts)
    elif case == "missing":
        signature = None
    elif case == "not-ms":
        ts = "2026-11-30T09:00:00Z"
    else:
        sent = body.replace(b"1", b"2")
    with pytest.raises(SignatureInvalid):
        verify_v3(
            secret=SECRET,
            method="POST",
            uri=uri,
            body=sent,
            timestamp=ts,
            signature=signature,
            now_ms=NOW,
        )
