"""`leadloop reps sync --from hubspot|salesforce`: the CRM's owners into routing's reps, by the
same code as routing's periodic sync, on the database the CLI finds (routing's settings)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from leadloop_routing.domain.model import Rep
    from leadloop_routing.domain.reps_sync import RepsSyncPlan

CRMS = ("hubspot", "salesforce")


async def sync_from(system: str) -> RepsSyncPlan:
    """One sync of `system`'s owners into routing's reps (routing's settings and database)."""
    import functools

    from leadloop_db.engine import make_engine
    from leadloop_db.uow import Transactions
    from leadloop_routing.adapters.tables import outbox
    from leadloop_routing.adapters.uow import SqlUnitOfWork
    from leadloop_routing.config import Settings
    from leadloop_routing.entrypoints.reps_sync import RepsSync

    settings = Settings()
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        uow = functools.partial(SqlUnitOfWork, engine, outbox, settings.topic_prefix)
        return await RepsSync(Transactions(uow), settings).sync(system)
    finally:
        await engine.dispose()


def _view(rep: Rep) -> dict[str, Any]:
    from leadloop_routing.entrypoints.schemas import rep_out

    return rep_out(rep).model_dump(mode="json")


def cmd_sync(args: argparse.Namespace) -> int:
    """Create, update and deactivate reps as the CRM's owners say; print what changed."""
    from leadloop_connectors.http import ConnectorError

    print(f"reading {args.source} owners", file=sys.stderr, flush=True)
    try:
        plan = asyncio.run(sync_from(args.source))
    except ConnectorError as exc:
        print(f"leadloop: {args.source} refused: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    groups = {"created": plan.created, "updated": plan.updated, "deactivated": plan.deactivated}
    if args.json:
        out: dict[str, Any] = {k: [_view(r) for r in reps] for k, reps in groups.items()}
        out["skipped"] = [{"owner_id": s.owner_id, "reason": s.reason} for s in plan.skipped]
        print(json.dumps(out, indent=2))
        return 0
    for what, reps in groups.items():
        for rep in reps:
            print(f"{what}\t{rep.rep_id}\t{rep.name}\t{rep.email}\t{','.join(rep.teams)}")
    for skipped in plan.skipped:
        print(f"skipped\t{args.source} owner {skipped.owner_id}\t{skipped.reason}")
    counts = ", ".join(f"{len(reps)} {what}" for what, reps in groups.items())
    print(f"{args.source}: {counts}, {len(plan.skipped)} skipped", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `reps` command group."""
    group = sub.add_parser("reps", help="routing's sales reps").add_subparsers(
        dest="reps_command", required=True
    )
    sync = group.add_parser(
        "sync",
        help="read a CRM's owners into reps (created, updated, deactivated; never deleted)",
        description="Owners match reps by CRM id, else by email. New owners become reps "
        "<crm>-<owner id> in the teams LEADLOOP_REPS_TEAM_MAP gives their CRM teams, else "
        "LEADLOOP_REPS_DEFAULT_TEAM. Credentials: LEADLOOP_HUBSPOT_ACCESS_TOKEN, or "
        "LEADLOOP_SALESFORCE_INSTANCE_URL, _CLIENT_ID and _CLIENT_SECRET.",
    )
    sync.add_argument("--from", dest="source", required=True, choices=CRMS, help="the CRM")
    sync.add_argument("--json", action="store_true", help="print the changes as JSON")
    sync.set_defaults(func=cmd_sync, needs=("database",))
