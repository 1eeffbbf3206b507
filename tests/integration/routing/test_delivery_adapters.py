"""The delivery adapters over real local sockets: webhooks to a small HTTP/1.1 server (checked
with the `standardwebhooks` package) and email to an aiosmtpd server. No broker, no database."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller
from standardwebhooks import Webhook, WebhookVerificationError

from leadloop_cli.infra import free_port
from leadloop_platform.outbound import AllowList, OutboundPolicy
from leadloop_routing.adapters.mailer import (
    SmtpSettings,
    alert_email_bytes,
    alert_parts,
    build_alert_email,
    send_email,
    send_stored_email,
)
from leadloop_routing.adapters.webhook_sender import deliver, new_secret

BODY = b'{"type":"leadloop.lead.assigned.v1","data":{"lead_id":"lead-ACME-DENTAL"}}'
REASONS = {204: "No Content", 500: "Internal Server Error"}
LOCAL = OutboundPolicy(allowed=AllowList.parse("127.0.0.1"))  # the receivers here are local


@dataclass
class Receiver:
    """A one-route HTTP/1.1 server that records each request and answers `status`."""

    status: int = 204
    answer: bool = True
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
            headers = {}
            for line in lines:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.requests.append((request_line, headers, body))
            if not self.answer:
                await self.release.wait()  # hold the connection open: the client must time out
                return
            text = b"" if self.status == 204 else b"receiver is broken"
            writer.write(
                f"HTTP/1.1 {self.status} {REASONS[self.status]}\r\n"
                f"content-length: {len(text)}\r\nconnection: close\r\n\r\n".encode()
                + (text if self.status != 204 else b"")
            )
            await writer.drain()
        finally:
            writer.close()


@asynccontextmanager
async def receiving(receiver: Receiver) -> AsyncIterator[str]:
    """Serve `receiver` on 127.0.0.1 and a port the OS picks; yield the hook URL."""
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/hooks/leads"
    finally:
        receiver.release.set()
        server.close()
        await server.wait_closed()


async def test_a_delivery_arrives_signed_and_verifies_with_the_reference_package() -> None:
    receiver = Receiver(status=204)
    secret = new_secret()
    async with receiving(receiver) as url, LOCAL.client() as client:
        result = await deliver(client, url, secret, "msg_lead-ACME-DENTAL", BODY, policy=LOCAL)
    assert result.ok and result.status_code == 204 and result.error is None
    assert result.duration_ms > 0
    [(request_line, headers, body)] = receiver.requests
    assert request_line == "POST /hooks/leads HTTP/1.1"
    assert body == BODY
    assert headers["webhook-id"] == "msg_lead-ACME-DENTAL"
    assert headers["content-type"] == "application/cloudevents+json"
    assert headers["user-agent"] == "leadloop-webhooks/1"
    payload: Any = Webhook(secret).verify(body, headers)
    assert payload["data"]["lead_id"] == "lead-ACME-DENTAL"
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)


async def test_a_server_error_is_a_failed_attempt_with_its_status() -> None:
    receiver = Receiver(status=500)
    async with receiving(receiver) as url, LOCAL.client() as client:
        result = await deliver(client, url, new_secret(), "msg_1", BODY, policy=LOCAL)
    assert len(receiver.requests) == 1
    assert not result.ok and result.status_code == 500
    assert result.error == "HTTP 500: receiver is broken"


async def test_a_closed_port_is_a_failed_attempt_that_does_not_say_closed() -> None:
    # A bound socket that does not listen refuses connections and keeps the port ours.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        async with LOCAL.client() as client:
            result = await deliver(
                client, f"http://127.0.0.1:{port}/hooks", new_secret(), "m", BODY, policy=LOCAL
            )
    assert not result.ok and result.status_code is None
    assert result.error == "connection failed"


async def test_a_silent_server_is_a_failed_attempt_after_the_timeout() -> None:
    receiver = Receiver(answer=False)
    quick = dataclasses.replace(LOCAL, timeout_s=2.0)  # total: connect and send fit in it
    async with receiving(receiver) as url, quick.client() as client:
        result = await deliver(client, url, new_secret(), "msg_1", BODY, policy=quick)
    assert len(receiver.requests) == 1
    assert not result.ok and result.status_code is None
    assert result.error == "connection failed"  # the same words as for a closed port


class Inbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        self.received: list[tuple[str, list[str], list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.recipients.append(list(envelope.rcpt_tos))
        self.received.append(
            (envelope.mail_from, envelope.rcpt_tos, envelope.mail_options, envelope.content)
        )
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


async def test_the_alert_email_arrives_over_smtp_with_both_parts() -> None:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        message = build_alert_email(
            to="rep-alice@northwind.example",
            rep_name="Alice",
            lead={
                "profile": {"first_name": "Ana", "last_name": "Lopez", "company": "ACME Dental"},
                "fit": 85,
                "interest": 40,
                "grade": "A",
            },
            deadline=datetime(2026, 11, 22, 14, 30, tzinfo=UTC),
            reason="hand-raise: demo_request",
            team="dach",
        )
        settings = SmtpSettings(host="127.0.0.1", port=port, starttls=False, timeout_s=5)
        await send_email(settings, message)
    finally:
        controller.stop()
    # aiosmtpd stores the message before it answers 250, so it is here once send_email returns.
    [received] = inbox.messages
    assert inbox.recipients == [["rep-alice@northwind.example"]]
    assert received["From"] == "leadloop <leads@leadloop.invalid>"
    assert received["Subject"] == (
        "New SQL: Ana Lopez, ACME Dental (grade A) — first touch by 2026-11-22 14:30 UTC"
    )
    plain = received.get_body(("plain",))
    html = received.get_body(("html",))
    assert plain is not None and "Why now: hand-raise: demo_request" in plain.get_content()
    assert html is not None and "<b>ACME Dental</b>" in html.get_content()


async def test_an_unreachable_smtp_server_raises_for_the_caller_to_retry() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        message = build_alert_email(
            to="rep-alice@northwind.example",
            rep_name="Alice",
            lead={},
            deadline=datetime(2026, 11, 22, 14, 30, tzinfo=UTC),
            reason="r",
            team="dach",
        )
        settings = SmtpSettings(host="127.0.0.1", port=port, starttls=False, timeout_s=5)
        with pytest.raises(aiosmtplib.SMTPConnectError):
            await send_email(settings, message)


@pytest.mark.parametrize(
    "to",
    [
        "rep-alice@northwind.example",
        "Zoë Ünal <zoe@northwind.example>",
        "x" * 70 + "@n.example",  # a To line over 78 characters: the parsed message is sent
    ],
)
async def test_a_stored_email_arrives_as_the_parsed_message_did(to: str) -> None:
    parts = alert_parts(
        rep_name="Zoë",
        lead={"profile": {"first_name": "José", "company": "Müller & Söhne GmbH"}, "grade": "A"},
        deadline=datetime(2026, 11, 22, 14, 30, tzinfo=UTC),
        reason="hand-raise: demo_request",
        team="dach",
    )
    stored = alert_email_bytes(to, parts)
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings = SmtpSettings(host="127.0.0.1", port=port, starttls=False, timeout_s=5)
        await send_stored_email(settings, stored)
        await send_email(settings, message_from_bytes(stored, policy=policy.default))  # type: ignore[arg-type]
    finally:
        controller.stop()
    # The same envelope, MAIL options and DATA, byte for byte (Message-ID included).
    stored_way, parsed_way = inbox.received
    assert stored_way == parsed_way
    assert stored_way[0] == "leads@leadloop.invalid" and "BODY=8BITMIME" in stored_way[2]
