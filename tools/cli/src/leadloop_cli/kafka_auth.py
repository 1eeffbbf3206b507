"""Apache Kafka with authentication: the SCRAM users formatted into a new log directory, the
deploy/kafka/sasl.properties overlay filled in, a health probe that needs no credentials, and
the aiokafka options each principal connects with."""

from __future__ import annotations

import secrets
import socket
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from leadloop_cli.kafka_acls import ADMIN, SCRAM_MECHANISM, service_names
from leadloop_cli.kafka_install import CONFIG_DIR

SCRAM_JAAS = "org.apache.kafka.common.security.scram.ScramLoginModule"
PLAIN_JAAS = "org.apache.kafka.common.security.plain.PlainLoginModule"


def overlay() -> dict[str, str]:
    """deploy/kafka/sasl.properties as key -> value (comments and blank lines left out)."""
    values = {}
    for line in (CONFIG_DIR / "sasl.properties").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


@dataclass(frozen=True)
class KafkaAuth:
    """The broker's SCRAM users and their passwords: the admin (a super user) and one per
    service. Keep the object to restart a broker on the same data directory."""

    passwords: dict[str, str] = field(default_factory=dict)

    @classmethod
    def generate(cls, users: Sequence[str] | None = None) -> KafkaAuth:
        """Random passwords for the admin and each service (or `users`)."""
        names = users if users is not None else service_names()
        return cls({name: secrets.token_hex(24) for name in names})

    @property
    def admin_password(self) -> str:
        return self.passwords[ADMIN]

    def scram_arguments(self) -> list[str]:
        """The storage tool's --add-scram arguments: every user's credential at format time."""
        arguments = []
        for user, password in self.passwords.items():
            arguments += ["--add-scram", f"{SCRAM_MECHANISM}=[name={user},password={password}]"]
        return arguments

    def broker_values(self, client: str, controller: str) -> dict[str, str]:
        """The overlay's lines with the listeners on `client` and `controller` (host:port) and
        the admin's password filled in."""
        password = self.admin_password
        return overlay() | {
            "listeners": f"CLIENT://{client},CONTROLLER://{controller}",
            "advertised.listeners": f"CLIENT://{client}",
            "listener.name.client.scram-sha-512.sasl.jaas.config": (
                f'{SCRAM_JAAS} required username="{ADMIN}" password="{password}";'
            ),
            "listener.name.controller.plain.sasl.jaas.config": (
                f'{PLAIN_JAAS} required username="{ADMIN}" password="{password}" '
                f'user_{ADMIN}="{password}";'
            ),
        }

    def client(self, user: str) -> dict[str, Any]:
        """aiokafka's options for `user` (as leadloop_messaging.kafka.client_security makes)."""
        return {
            "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": SCRAM_MECHANISM,
            "sasl_plain_username": user,
            "sasl_plain_password": self.passwords[user],
        }


def api_versions_answer(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when the listener answers ApiVersions (v0), which a SASL listener serves before
    authentication; a broker opens its client listeners only once it has caught up with the
    controller, so an answer means it serves clients."""
    request = struct.pack(">hhih", 18, 0, 11, len(b"leadloop-probe")) + b"leadloop-probe"
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(struct.pack(">i", len(request)) + request)
            header = sock.recv(10, socket.MSG_WAITALL)
    except OSError:
        return False
    if len(header) < 10:
        return False
    _size, correlation, error = struct.unpack(">iih", header)
    return bool(correlation == 11 and error == 0)
