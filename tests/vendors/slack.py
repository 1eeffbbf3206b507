"""A fake Slack Web API, served by uvicorn in the test's event loop.

It follows Slack's published reference:
- https://docs.slack.dev/apis/web-api/ : methods are `https://slack.com/api/<method>`; the bot
  token comes as `Authorization: Bearer xoxb-...`; "The response contains a JSON object, which
  will always contain a top-level boolean property `ok`... For failure results, the `error`
  property will contain a short machine-readable error code", with HTTP 200.
- https://docs.slack.dev/apis/web-api/rate-limits : "Slack will return a HTTP 429 Too Many
  Requests error, and a Retry-After HTTP header containing the number of seconds until you
  can retry"; the body is `{"ok": false, "error": "ratelimited"}`.
- https://docs.slack.dev/apis/web-api/#posting-json : JSON bodies are read by write methods
  (chat.postMessage, conversations.open); read methods take query or form arguments only.
- users.lookupByEmail (error `users_not_found`), users.info
  (https://docs.slack.dev/reference/methods/users.info: `{"ok": true, "user": {...,
  "profile": {"email": ...}}}`, the email shown with the users:read.email scope; error
  `user_not_found`), conversations.open (`{"channel": {"id": "D..."}}`),
  chat.postMessage (`{"ok": true, "channel", "ts", "message"}`; errors `channel_not_found`,
  `no_text`, `invalid_blocks`), conversations.history (newest first; `oldest`, `limit`, `cursor`
  with `response_metadata.next_cursor`; message metadata only with `include_all_metadata`),
  https://docs.slack.dev/messaging/message-metadata (`metadata.event_type`, `event_payload`).
The clicks Slack sends back to an app are built and signed in tests/vendors/slack_clicks.py.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from leadloop_cli.infra import free_port

from ..waiting import wait_for

BOT_TOKEN = "xoxb-test-leadloop-bot"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # the example secret of Slack's docs
JSON_METHODS = frozenset({"chat.postMessage", "conversations.open"})


@dataclass(frozen=True)
class Call:
    """One Web API request as received: its method, arguments and headers."""

    method: str
    args: dict[str, Any]
    headers: dict[str, str]


@dataclass
class FakeSlack:
    """The workspace: seeded users, channels with their messages, and fault knobs."""

    base: str
    bot_token: str = BOT_TOKEN
    team_id: str = "T0LEADLOOP"
    bot_user_id: str = "U0LEADBOT"
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # by email
    channels: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # oldest first
    dms: dict[str, str] = field(default_factory=dict)  # user id -> DM channel id
    calls: list[Call] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)  # POSTs to response_url
    token_expired: bool = False
    _faults: dict[str, list[tuple[str, Any]]] = field(default_factory=dict)
    _holds: dict[str, asyncio.Event] = field(default_factory=dict)
    _last_ts: float = 0.0

    @property
    def api_url(self) -> str:
        return f"{self.base}/api"

    def add_user(self, email: str, name: str) -> str:
        """Seed a workspace member; returns the user id."""
        user_id = f"U{len(self.users) + 1:08d}"
        self.users[email.lower()] = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name.lower().replace(" ", "."),
            "real_name": name,
            "deleted": False,
            "is_bot": False,
            "profile": {"email": email, "real_name": name},
        }
        return user_id

    def add_channel(self) -> str:
        """A channel the bot is a member of; returns its id."""
        channel_id = f"C{len(self.channels) + 1:08d}"
        self.channels[channel_id] = []
        return channel_id

    def rate_limit(self, method: str, retry_after_s: int = 7, times: int = 1) -> None:
        """The next `times` calls of `method` get 429 with Retry-After."""
        self._faults.setdefault(method, []).extend([("429", retry_after_s)] * times)

    def fail(self, method: str, status: int = 503, times: int = 1) -> None:
        """The next `times` calls of `method` get a bare HTTP `status` (a 5xx outage)."""
        self._faults.setdefault(method, []).extend([("status", status)] * times)

    def error(self, method: str, code: str, times: int = 1) -> None:
        """The next `times` calls of `method` get HTTP 200 `{"ok": false, "error": code}`."""
        self._faults.setdefault(method, []).extend([("error", code)] * times)

    def hold(self, method: str) -> asyncio.Event:
        """Calls of `method` wait, recorded, until the returned gate is set (a slow Slack: the
        caller may die meanwhile, and the call is still carried out)."""
        return self._holds.setdefault(method, asyncio.Event())

    def posts(self, method: str = "chat.postMessage") -> list[Call]:
        """The calls of `method` received so far."""
        return [c for c in self.calls if c.method == method]

    def alerts(self, alert_key: str) -> list[dict[str, Any]]:
        """Every stored message whose leadloop metadata carries `alert_key`."""
        return [
            m
            for messages in self.channels.values()
            for m in messages
            if (m.get("metadata") or {}).get("event_payload", {}).get("alert_key") == alert_key
        ]

    def next_ts(self) -> str:
        self._last_ts = max(time.time(), self._last_ts + 0.000001)
        return f"{self._last_ts:.6f}"

    def channel_of(self, ts: str) -> str:
        return next(c for c, ms in self.channels.items() if any(m["ts"] == ts for m in ms))

    def message(self, ts: str) -> dict[str, Any]:
        return next(m for m in self.channels[self.channel_of(ts)] if m["ts"] == ts)


def _ok(**body: Any) -> JSONResponse:
    return JSONResponse({"ok": True, **body})


def _error(code: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": code})


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1")


async def _args(request: Request, method: str) -> dict[str, Any]:
    args: dict[str, Any] = dict(request.query_params)
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    body = await request.body()
    if kind == "application/x-www-form-urlencoded":
        args.update(parse_qsl(body.decode()))
    elif kind == "application/json" and method in JSON_METHODS and body:
        args.update(json.loads(body))
    return args


def _auth(slack: FakeSlack, request: Request, args: dict[str, Any]) -> str | None:
    header = request.headers.get("authorization", "")
    token = header.removeprefix("Bearer ").strip() if header else str(args.get("token") or "")
    if not token:
        return "not_authed"
    if token != slack.bot_token:
        return "invalid_auth"
    return "token_expired" if slack.token_expired else None


def _lookup_by_email(slack: FakeSlack, args: dict[str, Any]) -> JSONResponse:
    user = slack.users.get(str(args.get("email", "")).lower())
    return _ok(user=user) if user else _error("users_not_found")


def _info(slack: FakeSlack, args: dict[str, Any]) -> JSONResponse:
    found = [u for u in slack.users.values() if u["id"] == args.get("user")]
    return _ok(user=found[0]) if found else _error("user_not_found")


def _open(slack: FakeSlack, args: dict[str, Any]) -> JSONResponse:
    users = [u for u in str(args.get("users", "")).split(",") if u]
    known = {u["id"] for u in slack.users.values()}
    if len(users) != 1:
        return _error("invalid_arguments" if not users else "not_supported_by_this_fake")
    if users[0] not in known:
        return _error("user_not_found")
    already = users[0] in slack.dms
    if not already:
        slack.dms[users[0]] = f"D{len(slack.dms) + 1:08d}"
        slack.channels[slack.dms[users[0]]] = []
    return _ok(channel={"id": slack.dms[users[0]]}, already_open=already)


def _history(slack: FakeSlack, args: dict[str, Any]) -> JSONResponse:
    messages = slack.channels.get(str(args.get("channel", "")))
    if messages is None:
        return _error("channel_not_found")
    oldest = float(args.get("oldest") or 0)
    newest_first = [m for m in reversed(messages) if float(m["ts"]) > oldest]
    start = int(args.get("cursor") or 0)
    limit = min(int(args.get("limit") or 100), 999)
    page = newest_first[start : start + limit]
    if not _truthy(args.get("include_all_metadata")):
        page = [{k: v for k, v in m.items() if k != "metadata"} for m in page]
    more = start + limit < len(newest_first)
    return _ok(
        messages=page,
        has_more=more,
        response_metadata={"next_cursor": str(start + limit) if more else ""},
    )


def _valid_blocks(blocks: Any) -> bool:
    if not isinstance(blocks, list):
        return False
    try:
        for raw in blocks:
            block = Block.parse(raw)
            if block is None:
                return False
            block.to_dict()  # runs slack_sdk's validators
    except (SlackObjectFormationError, KeyError, TypeError, ValueError):
        return False
    return True


def _post_message(slack: FakeSlack, args: dict[str, Any]) -> JSONResponse:
    channel = str(args.get("channel", ""))
    if channel not in slack.channels:
        return _error("channel_not_found")
    blocks = args.get("blocks")
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    if not args.get("text") and not blocks:
        return _error("no_text")
    if blocks is not None and not _valid_blocks(blocks):
        return _error("invalid_blocks")
    metadata = args.get("metadata")
    metadata = json.loads(metadata) if isinstance(metadata, str) else metadata
    if metadata is not None and not (
        isinstance(metadata, dict) and isinstance(metadata.get("event_type"), str)
    ):
        return _error("invalid_metadata_format")
    message = {
        "type": "message",
        "user": slack.bot_user_id,
        "bot_id": "B0LEADBOT",
        "text": args.get("text", ""),
        "ts": slack.next_ts(),
        **({"blocks": blocks} if blocks else {}),
        **({"metadata": metadata} if metadata else {}),
    }
    slack.channels[channel].append(message)
    shown = {k: v for k, v in message.items() if k != "metadata"}
    return _ok(channel=channel, ts=message["ts"], message=shown)


METHODS: dict[str, Callable[[FakeSlack, dict[str, Any]], JSONResponse]] = {
    "users.lookupByEmail": _lookup_by_email,
    "users.info": _info,
    "conversations.open": _open,
    "conversations.history": _history,
    "chat.postMessage": _post_message,
}


def _fault(slack: FakeSlack, method: str) -> Response | None:
    queue = slack._faults.get(method)
    if not queue:
        return None
    kind, value = queue.pop(0)
    if kind == "429":
        body = {"ok": False, "error": "ratelimited"}
        return JSONResponse(body, status_code=429, headers={"Retry-After": str(value)})
    if kind == "status":
        return Response(status_code=value)
    return _error(value)


def _app(slack: FakeSlack) -> Starlette:
    async def api(request: Request) -> Response:
        method = request.path_params["method"]
        args = await _args(request, method)
        slack.calls.append(Call(method, args, dict(request.headers)))
        if method in slack._holds:
            await slack._holds[method].wait()
        fault = _fault(slack, method)
        if fault is not None:
            return fault
        refused = _auth(slack, request, args)
        if refused is not None:
            return _error(refused)
        handler = METHODS.get(method)
        return handler(slack, args) if handler else _error("unknown_method")

    async def respond(request: Request) -> Response:
        slack.responses.append(json.loads(await request.body()))
        return Response("ok")

    return Starlette(
        routes=[
            Route("/api/{method}", api, methods=["GET", "POST"]),
            Route("/actions/{key}", respond, methods=["POST"]),
        ]
    )


async def serve_slack() -> tuple[FakeSlack, Callable[[], Awaitable[None]]]:
    """Start the fake on a free port in this event loop; returns it and its stop function."""
    port = free_port()
    slack = FakeSlack(f"http://127.0.0.1:{port}")
    config = uvicorn.Config(
        _app(slack), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        if task.done():
            task.result()
        return server.started

    await wait_for(started, timeout_s=30, what="the fake Slack to listen")

    async def stop() -> None:
        server.should_exit = True
        await task

    return slack, stop
