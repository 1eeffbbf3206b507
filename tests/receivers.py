"""Real alert receivers for the fault and erasure tests, keeping and counting what they get: a
local webhook endpoint (uvicorn, in the test's event loop) and an SMTP server (aiosmtpd, in its
own thread)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadloop_cli.infra import free_port
from leadloop_events.envelope import CloudEvent
from leadloop_platform.webhooks import SignatureError, verify

from .waiting import wait_for


@dataclass(frozen=True)
class Delivery:
    """One webhook POST as received."""

    webhook_id: str
    event_id: str
    event_type: str
    lead_id: str
    assignment_id: str | None
    signature_ok: bool
    body: bytes


@dataclass
class WebhookReceiver:
    """A real local HTTP endpoint that answers 204 and records every POST."""

    url: str
    secret: str | None = None
    deliveries: list[Delivery] = field(default_factory=list)
    # Called once, after the next delivery is recorded and before it is answered: e.g. kill the
    # sender there, so that it dies after sending and before it can record the success.
    on_next: Callable[[], None] | None = None

    def fire_on_next(self) -> None:
        action, self.on_next = self.on_next, None
        if action is not None:
            action()

    def record(self, body: bytes, headers: dict[str, str]) -> None:
        event = CloudEvent.from_bytes(body)
        signature_ok = False
        if self.secret is not None:
            try:
                verify(
                    self.secret,
                    body,
                    msg_id=headers.get("webhook-id"),
                    timestamp=headers.get("webhook-timestamp"),
                    signature=headers.get("webhook-signature"),
                    now=time.time(),
                )
                signature_ok = True
            except SignatureError:
                signature_ok = False  # counted and asserted on, not ignored
        self.deliveries.append(
            Delivery(
                webhook_id=headers.get("webhook-id", ""),
                event_id=event.id,
                event_type=event.type,
                lead_id=event.subject or "",
                assignment_id=event.data.get("assignment_id"),
                signature_ok=signature_ok,
                body=body,
            )
        )

    def by_assignment(self) -> dict[str, Counter[str]]:
        """assignment id -> webhook-id -> how many times it arrived."""
        out: dict[str, Counter[str]] = defaultdict(Counter)
        for d in self.deliveries:
            if d.assignment_id is not None:
                out[d.assignment_id][d.webhook_id] += 1
        return dict(out)


async def serve_webhooks() -> tuple[WebhookReceiver, Callable[[], Awaitable[None]]]:
    """Start a receiver on a free port in this event loop; returns it and its stop function."""
    port = free_port()
    box = WebhookReceiver(f"http://127.0.0.1:{port}/hooks/leads")

    async def hook(request: Request) -> Response:
        box.record(await request.body(), dict(request.headers))
        box.fire_on_next()
        return Response(status_code=204)

    app = Starlette(routes=[Route("/hooks/leads", hook, methods=["POST"])])
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        if task.done():
            task.result()  # raises what stopped the server
        return server.started

    await wait_for(started, timeout_s=30, what="the webhook receiver to listen")

    async def stop() -> None:
        server.should_exit = True
        await task

    return box, stop


@dataclass(frozen=True)
class Mail:
    """One message as the SMTP server took it."""

    message_id: str
    to: str
    lead_email: str | None


class SmtpReceiver:
    """An aiosmtpd server (its own thread) that keeps every message it is handed."""

    def __init__(self) -> None:
        self.port = free_port()
        self._lock = threading.Lock()
        self._mails: list[Mail] = []
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        # Called once (in the server's thread), after the next message is kept and before the
        # 250 answer, like WebhookReceiver.on_next.
        self.on_next: Callable[[], None] | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        plain = message.get_body(("plain",))
        lead_email = None
        if plain is not None:
            for line in plain.get_content().splitlines():
                if line.startswith("Email: "):
                    lead_email = line.removeprefix("Email: ").strip()
        mail = Mail(str(message["Message-ID"]), str(message["To"]), lead_email)
        with self._lock:
            self._mails.append(mail)
            action, self.on_next = self.on_next, None
        if action is not None:
            action()
        return "250 OK"

    @property
    def mails(self) -> list[Mail]:
        with self._lock:
            return list(self._mails)

    def by_lead_email(self) -> dict[str, Counter[str]]:
        """The lead's email (from the message body) -> Message-ID -> how many times it arrived."""
        out: dict[str, Counter[str]] = defaultdict(Counter)
        for m in self.mails:
            out[m.lead_email or "?"][m.message_id] += 1
        return dict(out)

    def start(self) -> SmtpReceiver:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()
