"""Outbound webhooks signed per the Standard Webhooks spec (webhook-id, -timestamp, -signature)."""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import httpx

from leadloop_platform.outbound import OutboundError, OutboundPolicy, RefusedTarget, excerpt
from leadloop_platform.webhooks import SECRET_PREFIX, sign

__all__ = [
    "RETRY_SCHEDULE",
    "DeliveryResult",
    "deliver",
    "headers",
    "new_secret",
    "next_attempt_delay",
    "sign",
]

# Exponential backoff over about a day (23 h 42 min), the way Standard Webhooks senders retry.
RETRY_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=2),
    timedelta(hours=4),
    timedelta(hours=8),
    timedelta(hours=8),
)


def new_secret() -> str:
    """A subscription's signing secret: whsec_ + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The request headers of one signed delivery."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
        "content-type": "application/cloudevents+json",
        "user-agent": "leadloop-webhooks/1",
    }


@dataclass(frozen=True)
class DeliveryResult:
    """One attempt's outcome: the status code, or the error when there was no usable answer."""

    ok: bool
    status_code: int | None
    error: str | None
    duration_ms: float
    bytes_read: int = 0


async def deliver(
    client: httpx.AsyncClient,
    url: str,
    secret: str,
    msg_id: str,
    body: bytes,
    *,
    policy: OutboundPolicy,
    now: Callable[[], float] = time.time,
) -> DeliveryResult:
    """POST one signed delivery through the outbound guard; 2xx is success. Failures are
    results, never raised: a refused target, "connection failed" (whatever failed: the log
    must not tell open ports from closed), or the status with a short sanitized excerpt."""
    started = time.perf_counter()
    try:
        reply = await policy.send(
            client,
            "POST",
            url,
            content=body,
            headers=headers(secret, msg_id, int(now()), body),
            read_body=lambda status: not 200 <= status < 300,
        )
    except RefusedTarget as exc:
        elapsed = (time.perf_counter() - started) * 1000
        return DeliveryResult(False, None, f"refused target: {exc}"[:300], elapsed)
    except OutboundError as exc:
        return DeliveryResult(False, None, str(exc), (time.perf_counter() - started) * 1000)
    if 200 <= reply.status_code < 300:
        return DeliveryResult(True, reply.status_code, None, reply.duration_ms, reply.bytes_read)
    detail = excerpt(reply.body)
    error = f"HTTP {reply.status_code}" + (f": {detail}" if detail else "")
    return DeliveryResult(False, reply.status_code, error, reply.duration_ms, reply.bytes_read)


def next_attempt_delay(attempts_made: int) -> timedelta | None:
    """The wait before the next attempt; None when the schedule (about a day) is exhausted."""
    if attempts_made < 0:
        raise ValueError("attempts_made cannot be negative")
    if attempts_made == 0:
        return timedelta(0)
    if attempts_made > len(RETRY_SCHEDULE):
        return None
    return RETRY_SCHEDULE[attempts_made - 1]
