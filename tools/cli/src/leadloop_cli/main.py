"""`leadloop`: the dev stack, migrations, topics and API keys from one command."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from leadloop_cli import agreement_cmd, devenv, failures, kafka_cmd, leads_cmd, reps_cmd
from leadloop_events.topics import ALL as TOPICS

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

# Heavy modules (SQLAlchemy, aiokafka, the services) are imported inside the commands, so that
# `leadloop --help` starts at once. These copies of library constants are checked by a test.
KEY_SCOPES = ("intake:write", "crm:write", "reports:read", "admin")
DEFAULT_PARTITIONS = 6

T = TypeVar("T")


def cmd_dev(args: argparse.Namespace) -> int:
    """Run the whole system locally until Ctrl-C."""
    from leadloop_cli.stack import DevStack

    try:
        stack = DevStack(Path(args.data_dir), demo=args.demo, broker=args.broker)
    except ValueError as exc:  # LEADLOOP_BROKER names no broker
        print(exc, file=sys.stderr)
        return 2
    return asyncio.run(stack.run())


def cmd_migrate(args: argparse.Namespace) -> int:
    """Migrate the auth schema and every installed service's schema."""
    from leadloop_cli.services import migrate_all
    from leadloop_platform.settings import CommonSettings

    settings = CommonSettings()
    schemas = asyncio.run(migrate_all(settings.database_url, progress=_progress))
    print(f"migrated: {', '.join(schemas)}")
    return 0


def cmd_topics_create(args: argparse.Namespace) -> int:
    """Create every topic (and its DLQ) with explicit partition counts."""
    from leadloop_cli.services import create_topics
    from leadloop_messaging.kafka import client_security
    from leadloop_platform.settings import CommonSettings

    settings = CommonSettings()
    _progress(f"creating topics on {settings.kafka_bootstrap_servers}")
    created = asyncio.run(
        create_topics(
            settings.kafka_bootstrap_servers,
            settings.topic_prefix,
            args.partitions,
            security=client_security(settings),
        )
    )
    print(f"created: {', '.join(created)}" if created else "every topic already exists")
    return 0


async def _on_database(use: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Run `use` on a one-connection engine to DATABASE_URL, disposed afterwards."""
    from leadloop_db.engine import make_engine
    from leadloop_platform.settings import CommonSettings

    engine = make_engine(CommonSettings().database_url, pool_size=1)
    try:
        return await use(engine)
    finally:
        await engine.dispose()


def cmd_keys_create(args: argparse.Namespace) -> int:
    """Create a key and print it once (only its hash is stored)."""
    from leadloop_platform.auth.keys import create_key

    try:
        key_id, key = asyncio.run(_on_database(lambda e: create_key(e, args.name, args.scope)))
    except ValueError as exc:
        print(f"leadloop: {exc}", file=sys.stderr)
        return 2
    print(f"key_id: {key_id}")
    print(f"key:    {key}")
    print("Store the key now: it is not shown again.", file=sys.stderr)
    return 0


def cmd_keys_list(args: argparse.Namespace) -> int:
    """Every key's id, name, scopes and dates; never the key."""
    from leadloop_platform.auth.keys import list_keys

    rows = asyncio.run(_on_database(list_keys))
    if args.json:
        print(json.dumps(rows, default=str, indent=2))
        return 0
    print(f"{'KEY_ID':<14}{'NAME':<24}{'SCOPES':<40}{'CREATED':<22}REVOKED")
    for row in rows:
        scope_list = row["scopes"]
        scopes = ",".join(scope_list) if isinstance(scope_list, list) else str(scope_list)
        created = f"{row['created_at']:%Y-%m-%d %H:%M:%S}"
        revoked = f"{row['revoked_at']:%Y-%m-%d %H:%M:%S}" if row["revoked_at"] else "-"
        print(f"{row['key_id']!s:<14}{row['name']!s:<24}{scopes:<40}{created:<22}{revoked}")
    return 0


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    """Revoke a key by id."""
    from leadloop_platform.auth.keys import revoke_key

    if asyncio.run(_on_database(lambda e: revoke_key(e, args.key_id))):
        print(f"revoked {args.key_id}")
        return 0
    print(f"leadloop: no active key with id {args.key_id}", file=sys.stderr)
    return 1


def cmd_dlq_replay(args: argparse.Namespace) -> int:
    """Replay a topic's dead letters after the fix."""
    from leadloop_messaging.kafka import client_security
    from leadloop_messaging.replay import replay_dlq
    from leadloop_platform.settings import CommonSettings

    settings = CommonSettings()
    source = settings.topic(args.topic)
    _progress(f"replaying {source}.dlq to {source} on {settings.kafka_bootstrap_servers}")
    result = asyncio.run(
        replay_dlq(
            settings.kafka_bootstrap_servers,
            settings.topic(args.topic),
            limit=args.limit,
            security=client_security(settings),
        )
    )
    print(f"replayed {result.replayed} record(s) from {result.dlq_topic} to {result.target_topic}")
    return 0


def cmd_outbox_parked(args: argparse.Namespace) -> int:
    """Outbox rows the broker refused for good, with its error (exit 1 when there are any)."""
    from dataclasses import asdict

    from leadloop_messaging.parked import parked_rows

    schemas = args.schema or ["intake", "scoring", "routing", "feedback"]
    rows = asyncio.run(_on_database(lambda e: parked_rows(e, schemas)))
    if args.json:
        print(json.dumps([asdict(r) for r in rows], default=str, indent=2))
        return 1 if rows else 0
    lines = [
        f"{r.schema}\t{r.id}\t{r.parked_at:%Y-%m-%dT%H:%M:%SZ}\t{r.event_type}\t{r.event_id}"
        f"\t{r.topic}\t{r.key}\t{r.size} bytes\t{r.error}"
        for r in rows
    ]
    print("\n".join(lines) if lines else "no parked outbox rows")
    return 1 if lines else 0


def _progress(line: str) -> None:
    """A step of a long command, on stderr (stdout stays the result)."""
    print(line, file=sys.stderr, flush=True)


JSON_HELP = "print a JSON array instead of a table"


def parser() -> argparse.ArgumentParser:
    """The command line; DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS come from the environment."""
    root = argparse.ArgumentParser(
        prog="leadloop",
        description="leadloop: closed-loop lead hand-off. Connection settings come from "
        "DATABASE_URL, KAFKA_BOOTSTRAP_SERVERS and LEADLOOP_* environment variables.",
    )
    root.add_argument("--version", action="version", version=f"%(prog)s {version('leadloop-cli')}")
    sub = root.add_subparsers(dest="command", required=True)
    _add_stack_commands(sub)
    _add_key_commands(sub)
    agreement_cmd.register(sub)
    reps_cmd.register(sub)
    leads_cmd.register(sub)
    kafka_cmd.register(sub)
    _add_topology_command(sub)
    _add_dead_letter_commands(sub)
    return root


def _add_stack_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`dev`, `migrate` and `topics create`."""
    dev = sub.add_parser("dev", help="run broker, Postgres and every service locally")
    dev.add_argument("--demo", action="store_true", help="also post simulated traffic to intake")
    dev.add_argument("--data-dir", default=".leadloop", help="Postgres data and logs")
    dev.add_argument(
        "--broker",
        choices=("embedded", "kafka"),
        help="embedded (Tansu, the default: Python only) or kafka (Apache Kafka on the JDK, "
        "`make kafka` fetches it); default: LEADLOOP_BROKER, else embedded",
    )
    dev.set_defaults(func=cmd_dev)

    sub.add_parser("migrate", help="migrate auth and every service schema").set_defaults(
        func=cmd_migrate, needs=("database",)
    )

    topics = sub.add_parser("topics", help="Kafka topics").add_subparsers(
        dest="topics_command", required=True
    )
    create = topics.add_parser("create", help="create every topic and its DLQ")
    create.add_argument(
        "--partitions",
        type=int,
        default=DEFAULT_PARTITIONS,
        help=f"partitions per topic (default {DEFAULT_PARTITIONS}; DLQs get 1)",
    )
    create.set_defaults(func=cmd_topics_create, needs=("broker",))


def cmd_topology(args: argparse.Namespace) -> int:
    """Write the topology files, or name the stale ones (exit 1) with --check."""
    from leadloop_cli import topology  # builds every service's app: imported only when asked

    return topology.run(check=args.check)


def _add_topology_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`topology [--check]`."""
    command = sub.add_parser("topology", help="write the AsyncAPI receive side and README table")
    command.add_argument("--check", action="store_true", help="fail if a file is out of date")
    command.set_defaults(func=cmd_topology)


def _add_key_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`api-keys create|list|revoke`."""
    keys = sub.add_parser("api-keys", help="API keys").add_subparsers(
        dest="keys_command", required=True
    )
    key_create = keys.add_parser("create", help="create a key and print it once")
    key_create.add_argument("--name", required=True, help="who uses the key, e.g. hubspot-sync")
    key_create.add_argument(
        "--scope", action="append", required=True, choices=KEY_SCOPES, help="repeat for several"
    )
    key_create.set_defaults(func=cmd_keys_create, needs=("database",))
    key_list = keys.add_parser("list", help="list keys (never the keys themselves)")
    key_list.add_argument("--json", action="store_true", help=JSON_HELP)
    key_list.set_defaults(func=cmd_keys_list, needs=("database",))
    revoke = keys.add_parser("revoke", help="revoke a key")
    revoke.add_argument("key_id", help="the KEY_ID that `api-keys list` shows")
    revoke.set_defaults(func=cmd_keys_revoke, needs=("database",))


def _add_dead_letter_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`dlq replay` and `outbox parked`: what the broker or a handler refused for good."""
    dlq = sub.add_parser("dlq", help="dead-letter topics").add_subparsers(
        dest="dlq_command", required=True
    )
    replay = dlq.add_parser("replay", help="send <topic>.dlq records back to <topic>")
    replay.add_argument("topic", choices=TOPICS, help="the source topic, e.g. leads.intake")
    replay.add_argument("--limit", type=int, default=None, help="replay at most this many records")
    replay.set_defaults(func=cmd_dlq_replay, needs=("broker",))

    outbox = sub.add_parser("outbox", help="service outboxes").add_subparsers(
        dest="outbox_command", required=True
    )
    parked = outbox.add_parser("parked", help="list rows the broker refused for good")
    parked.add_argument("--schema", action="append", help="a service schema; repeat for several")
    parked.add_argument("--json", action="store_true", help=JSON_HELP)
    parked.set_defaults(func=cmd_outbox_parked, needs=("database",))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `leadloop` console script."""
    args = parser().parse_args(argv)
    needs = getattr(args, "needs", ())
    try:
        devenv.use_dev_stack(os.environ, needs, Path.cwd())  # unset: the running dev stack's
        code: int = args.func(args)
    except Exception as exc:
        message = failures.explain(exc, needs)
        if message is None:
            raise  # not an expected failure: a bug, with its traceback
        print(f"leadloop: {message}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
