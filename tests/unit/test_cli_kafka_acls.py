"""The broker's principals and ACLs, derived from the services' registries (kafka_acls),
and the authenticated broker's configuration (deploy/kafka/sasl.properties): no JVM here
(tests/integration/test_kafka_auth.py runs the broker with them)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from leadloop_cli.kafka import ApacheKafka, new_cluster_id
from leadloop_cli.kafka_acls import Acl, acl_plan, service_acls
from leadloop_cli.kafka_auth import KafkaAuth
from leadloop_cli.services import SERVICES
from leadloop_cli.topology import consumed, produced, registry_of
from leadloop_events import topics


def rules_of(plan: list[Acl], service: str, operation: str, kind: str = "TOPIC") -> set[str]:
    return {
        a.name
        for a in plan
        if a.principal == f"User:{service}" and a.operation == operation and a.resource_type == kind
    }


def test_each_service_reads_what_its_registry_consumes_and_writes_its_own_topic() -> None:
    plan = acl_plan(prefix="")
    for service in SERVICES:
        reads = list(consumed(registry_of(service)))
        assert rules_of(plan, service.name, "READ") == set(reads), service.name
        writes = {*produced(service.name), *(topics.dlq(t) for t in reads)}
        assert rules_of(plan, service.name, "WRITE") == writes, service.name
        groups = rules_of(plan, service.name, "READ", "GROUP")
        assert groups == ({f"leadloop-{service.name}"} if reads else set())
    assert {a.operation for a in plan} == {"READ", "WRITE"}  # no CREATE, ALTER, DELETE, ALL


def test_no_service_may_write_another_services_topic() -> None:
    plan = acl_plan(prefix="")
    for topic in topics.ALL:
        writers = {a.principal for a in plan if a.operation == "WRITE" and a.name == topic}
        assert writers == {f"User:{produced_by(topic)}"}


def produced_by(topic: str) -> str:
    return topics.PRODUCERS[topic].rsplit("/", 1)[-1]


def test_the_topic_prefix_applies_to_topics_not_groups() -> None:
    rules = service_acls("scoring", [topics.INTAKE], "leadloop-scoring", prefix="staging.")
    assert [str(r) for r in rules] == [
        "ALLOW User:scoring READ GROUP leadloop-scoring",
        "ALLOW User:scoring READ TOPIC staging.leads.intake",
        "ALLOW User:scoring WRITE TOPIC staging.leads.intake.dlq",
        "ALLOW User:scoring WRITE TOPIC staging.leads.lifecycle",
    ]


def test_the_authenticated_broker_has_no_unauthenticated_listener(tmp_path: Path) -> None:
    auth = KafkaAuth({"admin": "admin-password-1", "intake": "intake-password-1"})
    config = ApacheKafka(4242, data_dir=tmp_path, auth=auth)._write_config(controller_port=4343)

    lines = dict(line.split("=", 1) for line in config.read_text().splitlines() if "=" in line)
    lines = {k: v for k, v in lines.items() if not k.startswith("#")}
    assert lines["listeners"] == "CLIENT://127.0.0.1:4242,CONTROLLER://127.0.0.1:4343"
    assert lines["advertised.listeners"] == "CLIENT://127.0.0.1:4242"
    assert (
        lines["listener.security.protocol.map"] == "CONTROLLER:SASL_PLAINTEXT,CLIENT:SASL_PLAINTEXT"
    )
    assert lines["authorizer.class.name"].endswith("StandardAuthorizer")
    assert lines["allow.everyone.if.no.acl.found"] == "false"
    assert lines["super.users"] == "User:admin"
    assert (
        'password="admin-password-1"'
        in lines["listener.name.client.scram-sha-512.sasl.jaas.config"]
    )
    assert lines["controller.quorum.voters"] == "1@127.0.0.1:4343"
    assert auth.scram_arguments() == [
        "--add-scram",
        "SCRAM-SHA-512=[name=admin,password=admin-password-1]",
        "--add-scram",
        "SCRAM-SHA-512=[name=intake,password=intake-password-1]",
    ]


def test_a_cluster_id_never_starts_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    # the storage tool reads "-t -abc" as a missing value: one format in 64 failed
    drawn = iter([uuid.UUID(bytes=b"\xf8" + bytes(15)), uuid.UUID(bytes=b"\x10" + bytes(15))])
    monkeypatch.setattr(uuid, "uuid4", lambda: next(drawn))
    assert new_cluster_id() == "EAAAAAAAAAAAAAAAAAAAAA"
