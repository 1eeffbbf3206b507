"""Receivers that fight back (issue #12, items 7 to 9): a body of hundreds of megabytes, a
receiver that dribbles a byte at a time, a name that resolves to loopback, a receiver that holds
the request while another subscriber waits, a subscription deactivated with retries queued."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from leadloop_events import topics
from leadloop_platform.outbound import AllowList, OutboundPolicy
from leadloop_routing.adapters.tables import webhook_deliveries
from leadloop_routing.adapters.webhook_sender import deliver, new_secret

from ...factories import stage_changed
from ...receivers import WebhookReceiver
from ...waiting import wait_for
from .conftest import RoutingUnderTest

BODY = b'{"type":"leadloop.lead.assigned.v1","data":{"lead_id":"lead-ACME-DENTAL"}}'
CAP = 64 * 1024
LOCAL = OutboundPolicy(allowed=AllowList.parse("127.0.0.1"), max_response_bytes=CAP)
DRIBBLED = b"HTTP/1.1 200 OK\r\n" * 1000
Answer = Callable[["RawReceiver", asyncio.StreamWriter], Awaitable[None]]


@dataclass
class RawReceiver:
    """A socket-level HTTP receiver whose answer is a coroutine: huge, slow, or held."""

    answer: Answer
    requests: list[dict[str, str]] = field(default_factory=list)
    sent: int = 0
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")[1:]
            headers = {
                k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines)
            }
            await reader.readexactly(int(headers.get("content-length", "0")))
            self.requests.append(headers)
            await self.answer(self, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the sender hung up: that is what these receivers test for
        finally:
            writer.close()


@asynccontextmanager
async def serving(receiver: RawReceiver) -> AsyncIterator[int]:
    """Serve on 127.0.0.1; yields the port."""
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        receiver.release.set()
        server.close()
        await server.wait_closed()


async def huge_error(receiver: RawReceiver, writer: asyncio.StreamWriter) -> None:
    """A 300 MB error body, written for as long as anyone reads."""
    writer.write(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 314572800\r\n\r\n")
    chunk = b"\x1b[2J" + b"E" * (64 * 1024 - 4)
    while receiver.sent < 314572800:
        writer.write(chunk)
        await writer.drain()
        receiver.sent += len(chunk)


async def dribble(receiver: RawReceiver, writer: asyncio.StreamWriter) -> None:
    """One byte of the status line at a time, for far longer than any deadline."""
    for byte in DRIBBLED:
        if receiver.release.is_set():
            return
        writer.write(bytes([byte]))
        await writer.drain()
        receiver.sent += 1
        with contextlib.suppress(TimeoutError):  # the receiver's pace, not the test's wait
            await asyncio.wait_for(receiver.release.wait(), 0.05)


async def hold_then_204(receiver: RawReceiver, writer: asyncio.StreamWriter) -> None:
    """Keep the request until the test releases it, then accept."""
    await receiver.release.wait()
    writer.write(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
    await writer.drain()


async def always_503(receiver: RawReceiver, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n")
    await writer.drain()


async def test_a_huge_error_body_is_read_only_up_to_the_cap() -> None:
    receiver = RawReceiver(huge_error)
    async with serving(receiver) as port, LOCAL.client() as client:
        result = await deliver(
            client, f"http://127.0.0.1:{port}/hooks", new_secret(), "m", BODY, policy=LOCAL
        )
    assert not result.ok and result.status_code == 500
    assert CAP <= result.bytes_read < 2 * CAP  # stopped at the cap (plus at most one chunk)
    assert result.error is not None and len(result.error) <= len("HTTP 500: ") + 200
    assert "\x1b" not in result.error and result.error.startswith("HTTP 500: [2JEEE")


async def test_a_dribbling_receiver_ends_at_the_attempts_deadline() -> None:
    receiver = RawReceiver(dribble)
    quick = dataclasses.replace(LOCAL, timeout_s=2.0)  # a byte every 50 ms: no read times out
    async with serving(receiver) as port, quick.client() as client:
        result = await asyncio.wait_for(
            deliver(client, f"http://127.0.0.1:{port}/", new_secret(), "m", BODY, policy=quick),
            timeout=60,
        )
        dribbled = receiver.sent
    assert 0 < dribbled < len(DRIBBLED)  # the attempt ended while the receiver went on
    assert not result.ok and result.status_code is None
    assert result.error == "connection failed"


async def test_a_name_resolving_to_loopback_is_refused_when_connecting_unless_allowed() -> None:
    receiver = RawReceiver(hold_then_204)
    receiver.release.set()
    answers = iter([["93.184.216.34"], ["127.0.0.1"], ["127.0.0.1"]])

    async def rebinding(host: str, port: int) -> list[str]:
        assert host == "crm.northwind.example"
        return next(answers)

    guarded = OutboundPolicy(resolver=rebinding)
    async with serving(receiver) as port:
        url = f"http://crm.northwind.example:{port}/hooks"
        await guarded.check_target(url)  # public when subscribed...
        async with guarded.client() as client:  # ...loopback when connecting: refused
            refused = await deliver(client, url, new_secret(), "m", BODY, policy=guarded)
        assert not refused.ok and refused.error is not None
        assert refused.error.startswith("refused target: crm.northwind.example resolves to")
        assert receiver.requests == []
        allowed = dataclasses.replace(guarded, allowed=AllowList.parse("crm.northwind.example"))
        async with allowed.client() as client:
            result = await deliver(client, url, new_secret(), "m", BODY, policy=allowed)
        assert result.ok, result.error
        # Connected to the checked address; the request still names the host.
        assert receiver.requests[0]["host"] == f"crm.northwind.example:{port}"
        # localhost through the system resolver: refused, unless allowed by name.
        local_url = f"http://localhost:{port}/hooks"
        async with OutboundPolicy().client() as client:
            refused = await deliver(client, local_url, "whsec_", "m", BODY, policy=OutboundPolicy())
        assert refused.error is not None and refused.error.startswith("refused target")
        named = OutboundPolicy(allowed=AllowList.parse("localhost"))
        async with named.client() as client:
            result = await deliver(client, local_url, new_secret(), "m", BODY, policy=named)
        assert result.ok, result.error
    assert len(receiver.requests) == 2


async def deliveries_of(routing: RoutingUnderTest, lead_id: str) -> list[dict[str, Any]]:
    r = await routing.http.get(f"/v1/webhook-deliveries?lead_id={lead_id}")
    assert r.status_code == 200, r.text
    rows: list[dict[str, Any]] = r.json()["items"]
    return rows


async def subscribe(routing: RoutingUnderTest, url: str) -> str:
    r = await routing.http.post("/v1/webhook-subscriptions", json={"url": url})
    assert r.status_code == 201, r.text
    return str(r.json()["subscription_id"])


async def test_a_held_request_locks_nothing_and_another_subscriber_is_delivered_meanwhile(
    routing: RoutingUnderTest, webhook_receiver: WebhookReceiver
) -> None:
    slow = RawReceiver(hold_then_204)
    async with serving(slow) as port:
        slow_id = await subscribe(routing, f"http://127.0.0.1:{port}/hooks")
        fast_id = await subscribe(routing, webhook_receiver.url)
        await routing.send(topics.LIFECYCLE, stage_changed("lead-INITECH"))

        async def fast_delivered_while_slow_is_held() -> bool:
            log = {d["subscription_id"]: d for d in await deliveries_of(routing, "lead-INITECH")}
            fast = log.get(fast_id)
            return bool(slow.requests and fast and fast["status"] == "succeeded")

        await wait_for(fast_delivered_while_slow_is_held, timeout_s=60, what="the fast delivery")
        [held] = [
            d
            for d in await deliveries_of(routing, "lead-INITECH")
            if d["subscription_id"] == slow_id
        ]
        assert held["status"] == "pending" and held["attempts"] == []  # still in flight
        # No transaction holds the row while the receiver holds the request.
        async with routing.app.state.engine.connect() as conn, conn.begin():
            locked = await conn.execute(
                sa.select(webhook_deliveries.c.delivery_id)
                .where(webhook_deliveries.c.delivery_id == held["delivery_id"])
                .with_for_update(nowait=True)
            )
            assert locked.scalar_one() == held["delivery_id"]
        slow.release.set()

        async def slow_delivered() -> bool:
            log = {d["subscription_id"]: d for d in await deliveries_of(routing, "lead-INITECH")}
            return bool(log[slow_id]["status"] == "succeeded")

        await wait_for(slow_delivered, timeout_s=60, what="the slow delivery")
    assert len(webhook_receiver.deliveries) == 1 and len(slow.requests) == 1


async def test_deactivating_a_subscription_cancels_its_queued_deliveries_and_retries(
    routing: RoutingUnderTest,
) -> None:
    failing = RawReceiver(always_503)
    async with serving(failing) as port:
        sub_id = await subscribe(routing, f"http://127.0.0.1:{port}/hooks")
        await routing.send(topics.LIFECYCLE, stage_changed("lead-GLOBEX"))

        async def first_attempt_logged() -> bool:
            log = await deliveries_of(routing, "lead-GLOBEX")
            return bool(log and log[0]["attempts"])

        await wait_for(first_attempt_logged, timeout_s=60, what="the first, failed attempt")
        r = await routing.http.delete(f"/v1/webhook-subscriptions/{sub_id}")
        assert r.status_code == 204
        sent_before = len(failing.requests)
        [cancelled] = await deliveries_of(routing, "lead-GLOBEX")
        assert cancelled["status"] == "cancelled" and cancelled["next_attempt_at"] is None
        assert cancelled["attempts"][0]["status_code"] == 503
        assert (await routing.http.get("/v1/webhook-deliveries?status=cancelled")).json()["items"]
        r = await routing.http.post(f"/v1/webhook-deliveries/{cancelled['delivery_id']}/redeliver")
        assert r.status_code == 404
        # Even a delivery left pending (a race with the deactivation) is never sent.
        d = webhook_deliveries
        async with routing.app.state.engine.begin() as conn:
            await conn.execute(
                d.update()
                .where(d.c.delivery_id == cancelled["delivery_id"])
                .values(status="pending", next_attempt_at=datetime.now(UTC))
            )
        later = datetime.now(UTC) + timedelta(days=2)
        assert await routing.app.state.webhooks.run_once(now=later) == 0
        assert len(failing.requests) == sent_before
