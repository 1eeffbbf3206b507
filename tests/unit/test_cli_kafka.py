"""Choosing the broker and writing Apache Kafka's configuration: no JVM is started here
(tests/integration/test_apache_kafka.py runs the broker)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from leadloop_cli.infra import EmbeddedBroker
from leadloop_cli.kafka import (
    ApacheKafka,
    broker_kind,
    metadata_answers,
    new_broker,
    new_cluster_id,
    render_properties,
)
from leadloop_cli.kafka_install import CONFIG_DIR


def test_filled_in_keys_replace_their_lines_and_comments_stay() -> None:
    template = "# listeners=commented\nlisteners=PLAINTEXT://127.0.0.1:9092\nnum.partitions=6\n"

    text = render_properties(template, {"listeners": "PLAINTEXT://127.0.0.1:4242", "x.y": "1"})

    assert text.splitlines() == [
        "# listeners=commented",
        "listeners=PLAINTEXT://127.0.0.1:4242",
        "num.partitions=6",
        "x.y=1",
    ]


def test_the_repository_file_has_every_line_the_start_fills_in(tmp_path: Path) -> None:
    kafka = ApacheKafka(4242, data_dir=tmp_path)
    config = kafka._write_config(controller_port=4343)

    lines = config.read_text().splitlines()
    template = (CONFIG_DIR / "server.properties").read_text().splitlines()
    assert len(lines) == len(template)  # replaced in place, nothing appended
    assert "listeners=PLAINTEXT://127.0.0.1:4242,CONTROLLER://127.0.0.1:4343" in lines
    assert "advertised.listeners=PLAINTEXT://127.0.0.1:4242" in lines
    assert "controller.quorum.voters=1@127.0.0.1:4343" in lines
    assert f"log.dirs={tmp_path / 'log'}" in lines
    assert "auto.create.topics.enable=false" in lines


def test_the_flag_wins_over_the_variable_and_the_default_is_the_embedded_broker() -> None:
    assert broker_kind({}) == "embedded"
    assert broker_kind({"LEADLOOP_BROKER": "kafka"}) == "kafka"
    assert broker_kind({"LEADLOOP_BROKER": "kafka"}, "embedded") == "embedded"
    with pytest.raises(ValueError, match="choose one of embedded, kafka"):
        broker_kind({"LEADLOOP_BROKER": "redpanda"})


def test_new_broker_builds_the_named_kind(tmp_path: Path) -> None:
    embedded = new_broker("embedded", 4242)
    assert isinstance(embedded, EmbeddedBroker) and not embedded.healthy()  # not started
    kafka = new_broker("kafka", 4242, data_dir=tmp_path)
    assert isinstance(kafka, ApacheKafka) and kafka.bootstrap_servers == "127.0.0.1:4242"
    assert not kafka.healthy()


def test_a_cluster_id_is_a_base64url_uuid() -> None:
    ids = {new_cluster_id() for _ in range(3)}
    assert len(ids) == 3 and all(len(i) == 22 and "=" not in i for i in ids)


def test_the_health_probe_is_false_where_nothing_or_no_kafka_answers() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    assert not metadata_answers("127.0.0.1", port)

    with socket.socket() as silent:  # accepts, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        assert not metadata_answers("127.0.0.1", silent.getsockname()[1], timeout=0.2)
