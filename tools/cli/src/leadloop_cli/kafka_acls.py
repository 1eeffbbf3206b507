"""Who may do what on the broker: one SCRAM principal per service, and its ACLs derived from the
code, the way `leadloop topology` reads it (so they cannot drift from what the services do).

A service may WRITE its own topic (libs/events: the topic it is the one producer of) and the
dead-letter topic of each topic it consumes (the consumer and the relay send `<topic>.dlq`
there), READ the topics its handler registry consumes, and READ its consumer group. Nothing
else: topics are created by the admin (`leadloop topics create`), never by a service, so no
service has CREATE; READ and WRITE imply DESCRIBE. The admin is a super user of the broker.

    leadloop kafka acls            # print the plan
    leadloop kafka acls --apply    # create users' ACLs on the broker, as the admin
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import (
    CreateAclsRequest_v1,
    CreateAclsResponse_v1,
    DescribeAclsRequest,
)
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    CompactArray,
    CompactBytes,
    CompactString,
    Int8,
    Int16,
    Int32,
    Schema,
    TaggedFields,
)

from leadloop_cli.services import SERVICES, Service
from leadloop_events import topics

ADMIN = "admin"
SCRAM_MECHANISM = "SCRAM-SHA-512"
SCRAM_ITERATIONS = 8192
# Kafka's protocol codes (org.apache.kafka.common.acl / resource).
RESOURCE_TYPES = {"TOPIC": 2, "GROUP": 3}
OPERATIONS = {"READ": 3, "WRITE": 4}
LITERAL, ALLOW = 3, 3
ANY = 1  # DescribeAcls: any resource type, pattern, operation or permission


@dataclass(frozen=True, order=True)
class Acl:
    """One ALLOW rule: `principal` may `operation` the `resource_type` named `name` (literal)."""

    principal: str
    operation: str
    resource_type: str
    name: str

    @property
    def allowed(self) -> tuple[int, int]:
        """The operation and permission codes CreateAcls takes."""
        return OPERATIONS[self.operation], ALLOW

    def __str__(self) -> str:
        return f"ALLOW {self.principal} {self.operation} {self.resource_type} {self.name}"


def principal(service: str) -> str:
    """The broker principal a service authenticates as (its SCRAM user is its name)."""
    return f"User:{service}"


def service_acls(
    service: str, consumes: Iterable[str], group: str | None, prefix: str = ""
) -> list[Acl]:
    """The rules of one service: write its own topic and its consumed topics' DLQs, read the
    topics it consumes and its group."""
    who = principal(service)
    own = [t for t in topics.ALL if topics.PRODUCERS[t].rsplit("/", 1)[-1] == service]
    consumed = list(consumes)
    rules = [Acl(who, "WRITE", "TOPIC", prefix + t) for t in own]
    rules += [Acl(who, "WRITE", "TOPIC", prefix + topics.dlq(t)) for t in consumed]
    rules += [Acl(who, "READ", "TOPIC", prefix + t) for t in consumed]
    if consumed and group:
        rules.append(Acl(who, "READ", "GROUP", group))
    return sorted(set(rules))


def _group(service: Service) -> str | None:
    settings = importlib.import_module(f"{service.package}.config").Settings()
    group: str | None = getattr(settings, "consumer_group", None)
    return group or f"leadloop-{service.name}"  # leadloop_runtime's default


def acl_plan(prefix: str | None = None, services: Sequence[Service] = SERVICES) -> list[Acl]:
    """Every service's rules, read from its handler registry and settings (LEADLOOP_TOPIC_PREFIX
    when `prefix` is None)."""
    from leadloop_cli.topology import registry_of

    prefix = os.environ.get("LEADLOOP_TOPIC_PREFIX", "") if prefix is None else prefix
    plan: list[Acl] = []
    for service in services:
        consumes = registry_of(service).topics() if service.runnable() else []
        plan += service_acls(service.name, consumes, _group(service), prefix)
    return plan


def service_names(services: Sequence[Service] = SERVICES) -> list[str]:
    """The SCRAM users the broker needs: the admin and one per service."""
    return [ADMIN, *(s.name for s in services)]


class _CreateAcls(Request[CreateAclsRequest_v1]):  # type: ignore[misc]  # aiokafka is untyped
    """CreateAcls v1 with many rules in one request (aiokafka's own sends one)."""

    API_KEY = 30

    def __init__(self, acls: Sequence[Acl]) -> None:
        self.acls = acls

    def build(self, request_struct_class: type[CreateAclsRequest_v1]) -> CreateAclsRequest_v1:
        rows = [
            (RESOURCE_TYPES[a.resource_type], a.name, LITERAL, a.principal, "*", *a.allowed)
            for a in self.acls
        ]
        return request_struct_class(rows)


async def create_acls(admin: AIOKafkaAdminClient, acls: Sequence[Acl]) -> None:
    """Create `acls` (creating an existing rule again is a no-op); raises on any refusal."""
    response: CreateAclsResponse_v1 = await admin._send_request(_CreateAcls(acls))
    failed = [
        f"{acl}: error {code} {message or ''}".strip()
        for acl, (code, message) in zip(acls, response.creation_responses, strict=True)
        if code != 0
    ]
    if failed:
        raise RuntimeError("creating ACLs failed: " + "; ".join(failed))


async def acls_in_force(admin: AIOKafkaAdminClient, acls: Sequence[Acl]) -> bool:
    """True when the broker's authorizer holds every rule of `acls`."""
    response: Any = await admin._send_request(
        DescribeAclsRequest(ANY, None, ANY, None, None, ANY, ANY)
    )
    if response.error_code:
        raise RuntimeError(f"describing ACLs failed: error {response.error_code}")
    held = {
        (resource_type, name, who, operation)
        for resource_type, name, _pattern, rules in response.resources
        for who, _host, operation, permission in rules
        if permission == ALLOW
    }
    wanted = {(RESOURCE_TYPES[a.resource_type], a.name, a.principal, a.allowed[0]) for a in acls}
    return wanted <= held


async def wait_in_force(
    admin: AIOKafkaAdminClient, acls: Sequence[Acl], timeout_s: float = 30.0
) -> None:
    """Wait until the broker enforces `acls`: CreateAcls answers once the controller has
    committed them, and a broker applies them from its metadata log a moment later."""
    deadline = time.monotonic() + timeout_s
    while not await acls_in_force(admin, acls):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the broker did not apply {len(acls)} new ACLs in {timeout_s} s")
        await asyncio.sleep(0.02)


# AlterUserScramCredentials v0 (KIP-554): the client salts the password, the broker keeps only
# the derived keys. aiokafka has no such request, so it is declared here.
class _ScramResponse(Response):  # type: ignore[misc]  # aiokafka is untyped
    API_KEY = 51
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "results",
            CompactArray(
                ("user", CompactString("utf-8")),
                ("error_code", Int16),
                ("error_message", CompactString("utf-8")),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class _ScramRequestStruct(RequestStruct):  # type: ignore[misc]  # aiokafka is untyped
    API_KEY = 51
    API_VERSION = 0
    FLEXIBLE_VERSION = True
    RESPONSE_TYPE = _ScramResponse
    SCHEMA = Schema(
        (
            "deletions",
            CompactArray(
                ("name", CompactString("utf-8")), ("mechanism", Int8), ("tags", TaggedFields)
            ),
        ),
        (
            "upsertions",
            CompactArray(
                ("name", CompactString("utf-8")),
                ("mechanism", Int8),
                ("iterations", Int32),
                ("salt", CompactBytes),
                ("salted_password", CompactBytes),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class _AlterScram(Request[_ScramRequestStruct]):  # type: ignore[misc]  # aiokafka is untyped
    API_KEY = 51

    def __init__(self, passwords: Mapping[str, str]) -> None:
        self.passwords = passwords

    def build(self, request_struct_class: type[_ScramRequestStruct]) -> _ScramRequestStruct:
        rows: list[tuple[Any, ...]] = []
        for user, password in self.passwords.items():
            salt = os.urandom(32)
            salted = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, SCRAM_ITERATIONS)
            rows.append((user, 2, SCRAM_ITERATIONS, salt, salted, {}))  # 2: SCRAM-SHA-512
        return request_struct_class([], rows, {})


async def upsert_scram_users(admin: AIOKafkaAdminClient, passwords: Mapping[str, str]) -> None:
    """Create or update each user's SCRAM-SHA-512 credential; raises on any refusal."""
    response: Any = await admin._send_request(_AlterScram(passwords))
    failed = [
        f"{user}: error {code} {message or ''}".strip()
        for user, code, message, _tags in response.results
        if code
    ]
    if failed:
        raise RuntimeError("creating SCRAM users failed: " + "; ".join(failed))


async def apply(
    bootstrap_servers: str,
    security: Mapping[str, Any],
    acls: Sequence[Acl],
    passwords: Mapping[str, str] | None = None,
) -> None:
    """As the admin: the SCRAM users of `passwords` (if any), then `acls`."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, client_id="leadloop-admin", **security
    )
    await admin.start()
    try:
        if passwords:
            await upsert_scram_users(admin, passwords)
        await create_acls(admin, acls)
        await wait_in_force(admin, acls)
    finally:
        await admin.close()
