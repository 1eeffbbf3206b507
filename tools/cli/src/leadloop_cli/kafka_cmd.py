"""`leadloop kafka acls`: each service's broker principal and ACLs (leadloop_cli.kafka_acls),
printed, or applied as the admin (compose's and the k8s setup job's broker step)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from leadloop_cli import devenv


def password_variable(user: str) -> str:
    """Where `--users` reads a service's SCRAM password: LEADLOOP_KAFKA_PASSWORD_<SERVICE>."""
    return f"LEADLOOP_KAFKA_PASSWORD_{user.upper()}"


def service_passwords(env: Mapping[str, str]) -> dict[str, str]:
    """Each service's password from the environment; refuses a missing or placeholder one."""
    from leadloop_cli.services import SERVICES
    from leadloop_platform.settings import is_placeholder

    passwords, missing = {}, []
    for service in SERVICES:
        value = env.get(password_variable(service.name), "")
        if is_placeholder(value):
            missing.append(password_variable(service.name))
        passwords[service.name] = value
    if missing:
        raise ValueError(f"set {', '.join(missing)} to each service's broker password")
    return passwords


def cmd_acls(args: argparse.Namespace) -> int:
    """Print the ACLs; with --apply, create them (and with --users, the SCRAM users) as the admin
    the LEADLOOP_KAFKA_SASL_* settings name."""
    from leadloop_cli.kafka_acls import acl_plan, apply
    from leadloop_messaging.kafka import client_security
    from leadloop_platform.settings import CommonSettings

    if args.apply:  # unset: the running dev stack's broker
        devenv.use_dev_stack(os.environ, ("broker",), Path.cwd())
    settings = CommonSettings()
    plan = acl_plan(settings.topic_prefix if args.prefix is None else args.prefix)
    for acl in plan:
        print(acl)
    if not args.apply:
        return 0
    try:
        passwords = service_passwords(os.environ) if args.users else None
    except ValueError as exc:
        print(f"leadloop: {exc}", file=sys.stderr)
        return 2
    security = client_security(settings)
    asyncio.run(apply(settings.kafka_bootstrap_servers, security, plan, passwords))
    users = f"{len(passwords)} SCRAM users and " if passwords else ""
    print(f"created {users}{len(plan)} ACLs on {settings.kafka_bootstrap_servers}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `kafka` command group."""
    group = sub.add_parser("kafka", help="the broker's principals and ACLs").add_subparsers(
        dest="kafka_command", required=True
    )
    acls = group.add_parser(
        "acls",
        help="each service's ACLs, from its handler registry (print, or --apply as the admin)",
        description="Each service authenticates as its own SCRAM user (its name) and may write "
        "its own topic and the DLQs of the topics it consumes, read those topics and its "
        "consumer group; nothing else. --apply connects with the LEADLOOP_KAFKA_* settings "
        "(a super user: the admin); --users also creates or updates each service's SCRAM-SHA-512 "
        "credential from LEADLOOP_KAFKA_PASSWORD_<SERVICE>.",
    )
    acls.add_argument("--apply", action="store_true", help="create them on the broker")
    acls.add_argument("--users", action="store_true", help="with --apply: SCRAM users too")
    acls.add_argument("--prefix", default=None, help="topic prefix (LEADLOOP_TOPIC_PREFIX)")
    acls.set_defaults(func=cmd_acls)
