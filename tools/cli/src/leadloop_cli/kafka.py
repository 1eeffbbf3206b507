"""Apache Kafka (4.x, KRaft, one node) on this machine's JDK, from the jars `make kafka` fetched
(leadloop_cli.kafka_install), configured by deploy/kafka/server.properties.

`ApacheKafka` has the embedded broker's interface (start, stop, pause, resume, is_running,
bootstrap_servers); `new_broker` picks one of the two by name (`leadloop dev --broker`,
LEADLOOP_BROKER)."""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Self

from leadloop_cli.infra import BrokerProcess, EmbeddedBroker, free_port, log_tail
from leadloop_cli.kafka_acls import ADMIN, Acl, apply
from leadloop_cli.kafka_auth import KafkaAuth, api_versions_answer
from leadloop_cli.kafka_install import (
    CONFIG_DIR,
    KAFKA_VERSION,
    KafkaUnavailable,
    find_java,
    kafka_home,
)

BROKERS = ("embedded", "kafka")
# Smaller than Kafka's own 1 GiB heap: this broker shares a 2-core machine with the services.
JVM_OPTIONS = ("-Xms128m", "-Xmx512m", "-XX:+UseG1GC", "-Djava.awt.headless=true")


def render_properties(template: str, values: Mapping[str, str]) -> str:
    """The template with each key of `values` set to its value (appended when absent)."""
    left = dict(values)
    lines = []
    for line in template.splitlines():
        key = line.split("=", 1)[0].strip()
        if not line.lstrip().startswith("#") and "=" in line and key in left:
            line = f"{key}={left.pop(key)}"
        lines.append(line)
    lines += [f"{key}={value}" for key, value in left.items()]
    return "\n".join(lines) + "\n"


def new_cluster_id() -> str:
    """A random cluster id in Kafka's form (a UUID, base64url, no padding), never starting
    with "-", which the storage tool would read as an option (Kafka's Uuid.randomUuid skips
    those too)."""
    while (found := base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))[0] == "-":
        pass
    return found


def metadata_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when a Metadata request (v4, no topics) lists a broker on `port`: the broker has
    caught up with the controller and serves clients."""
    client_id = b"leadloop-probe"
    request = struct.pack(">hhih", 3, 4, 7, len(client_id)) + client_id + struct.pack(">ib", 0, 0)
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(struct.pack(">i", len(request)) + request)
            size = struct.unpack(">i", _read(sock, 4))[0]
            body = _read(sock, size)
    except (OSError, struct.error):
        return False
    correlation, _throttle, count = struct.unpack_from(">iii", body)
    offset, ports = 12, []
    for _ in range(count):
        offset += 4  # node id
        (host_len,) = struct.unpack_from(">h", body, offset)
        offset += 2 + host_len
        (broker_port, rack_len) = struct.unpack_from(">ih", body, offset)
        offset += 6 + max(rack_len, 0)
        ports.append(broker_port)
    return correlation == 7 and port in ports


def _read(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise OSError("connection closed")
        data += chunk
    return data


class ApacheKafka(BrokerProcess):
    """Apache Kafka, one KRaft node (broker and controller) on 127.0.0.1, data in `data_dir`
    (kept across restarts; a temporary directory, removed at stop, when none is given).

    With `auth`, clients must authenticate (SASL/SCRAM, deploy/kafka/sasl.properties): its users
    are created when the log directory is formatted, and `acls` (leadloop_cli.kafka_acls) are
    created, as the admin, once the broker serves."""

    label = "Apache Kafka"
    persistent = True

    def __init__(
        self,
        port: int | None = None,
        *,
        host: str = "127.0.0.1",
        data_dir: Path | None = None,
        log_path: Path | None = None,
        home: Path | None = None,
        auth: KafkaAuth | None = None,
        acls: Sequence[Acl] = (),
    ) -> None:
        super().__init__(port, host=host, log_path=log_path)
        self.data_dir = data_dir
        self.home = home or kafka_home()
        self.auth, self.acls = auth, acls
        self.formatted = False  # True when this start formatted a new log directory
        self._temporary = data_dir is None

    def _answers(self) -> bool:
        """A metadata request lists this broker (ApiVersions answers, when clients must
        authenticate first)."""
        if self.auth is not None:
            return api_versions_answer(self.host, self.port)
        return metadata_answers(self.host, self.port)

    def start(self, timeout: float = 90.0) -> Self:
        """Format the log directory when it is new, start the broker, wait until it serves."""
        java, lib = find_java(), self.home / "lib"
        if not lib.is_dir():
            raise KafkaUnavailable(
                f"Apache Kafka {KAFKA_VERSION} is not in {self.home}: run `make kafka`"
            )
        if self.data_dir is None:
            self.data_dir = Path(tempfile.mkdtemp(prefix="leadloop-kafka-"))
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self._open_log(self.data_dir / "kafka.log")
        config = self._write_config(free_port(self.host))
        command = [java, *JVM_OPTIONS, f"-Dlog4j2.configurationFile={CONFIG_DIR}/log4j2.properties"]
        command += ["-cp", f"{lib}/*"]
        if not (self.data_dir / "log" / "meta.properties").exists():
            format_argv = ["kafka.tools.StorageTool", "format", "-t", new_cluster_id()]
            format_argv += self.auth.scram_arguments() if self.auth else []
            formatted = subprocess.run(
                [*command, *format_argv, "-c", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                check=False,
            )
            if formatted.returncode != 0:
                raise RuntimeError(f"formatting {self.data_dir} failed:\n{log_tail(self.log_path)}")
            self.formatted = True
        self._spawn([*command, "kafka.Kafka", str(config)], timeout, poll_s=0.1)
        if self.auth is not None and self.acls:
            try:
                self._create_acls(self.auth, timeout)
            except BaseException:
                self.stop()
                raise
        return self

    def _write_config(self, controller_port: int) -> Path:
        assert self.data_dir is not None
        template = (CONFIG_DIR / "server.properties").read_text()
        client = f"{self.host}:{self.port}"
        controller = f"{self.host}:{controller_port}"
        config = self.data_dir / "server.properties"
        values = {
            "controller.quorum.voters": f"1@{controller}",
            "listeners": f"PLAINTEXT://{client},CONTROLLER://{controller}",
            "advertised.listeners": f"PLAINTEXT://{client}",
            "log.dirs": str(self.data_dir / "log"),
        }
        if self.auth is not None:
            values |= self.auth.broker_values(client, controller)
        config.write_text(render_properties(template, values))
        return config

    def _create_acls(self, auth: KafkaAuth, timeout: float) -> None:
        # In a thread of its own: start() may be called from a running event loop.
        work = apply(self.bootstrap_servers, auth.client(ADMIN), self.acls)
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, work).result(timeout)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the broker (a controlled shutdown); a temporary data directory is removed."""
        super().stop(timeout)
        if self._temporary and self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def broker_kind(env: Mapping[str, str] = os.environ, chosen: str | None = None) -> str:
    """`chosen` (a --broker flag), else LEADLOOP_BROKER, else "embedded"; refuses other names."""
    kind = chosen or env.get("LEADLOOP_BROKER") or "embedded"
    if kind not in BROKERS:
        raise ValueError(f"LEADLOOP_BROKER={kind!r}: choose one of {', '.join(BROKERS)}")
    return kind


def new_broker(
    kind: str,
    port: int | None = None,
    *,
    host: str = "127.0.0.1",
    log_path: Path | None = None,
    data_dir: Path | None = None,
) -> EmbeddedBroker | ApacheKafka:
    """The broker `kind` names ("embedded" or "kafka"); `data_dir` is Kafka's (None: temporary)."""
    if kind == "kafka":
        return ApacheKafka(port, host=host, data_dir=data_dir, log_path=log_path)
    return EmbeddedBroker(port, host=host, log_path=log_path)
