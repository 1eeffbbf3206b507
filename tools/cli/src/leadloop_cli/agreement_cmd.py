"""`leadloop agreement validate FILE`, `leadloop agreement diff OLD NEW` and
`leadloop agreement publish FILE [--rescore]` (to scoring's API, with re-scoring's progress)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from leadloop_cli.service_api import add_api_key, add_url, response_refusal

if TYPE_CHECKING:
    import httpx

POLL_S = 1.0


def _read(path: Path) -> str | None:
    """The file's text, or None after one line on stderr saying why it cannot be read."""
    try:
        return path.read_bytes().decode("utf-8")
    except OSError as exc:
        print(f"{path}: cannot read: {exc.strerror or exc}", file=sys.stderr)
    except UnicodeDecodeError as exc:
        print(f"{path}: not UTF-8 text (byte {exc.start})", file=sys.stderr)
    return None


def cmd_validate(args: argparse.Namespace) -> int:
    """Print every error with its path, or a one-line summary of a valid agreement."""
    from leadloop_contract.agreement import AgreementInvalid, load_agreement  # pydantic: lazily

    path = Path(args.file)
    text = _read(path)
    if text is None:
        return 1
    try:
        agreement = load_agreement(text)
    except AgreementInvalid as exc:
        for error in exc.errors:
            print(f"{path}: {error['path']}: {error['reason']}", file=sys.stderr)
        print(f"{path}: invalid ({len(exc.errors)} error(s))", file=sys.stderr)
        return 1
    print(f"{path}: valid agreement, version {agreement.version}")
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    """What changes for whom, in words, between two agreement files."""
    from leadloop_contract.agreement import AgreementInvalid, load_agreement
    from leadloop_contract.agreement.diff import diff_agreements

    old_text, new_text = _read(Path(args.old)), _read(Path(args.new))
    if old_text is None or new_text is None:
        return 1
    try:
        old = load_agreement(old_text)
        new = load_agreement(new_text)
    except AgreementInvalid as exc:
        for error in exc.errors:
            print(f"{error['path']}: {error['reason']}", file=sys.stderr)
        return 1
    changes = diff_agreements(old, new)
    print(f"From {old.version} to {new.version}:")
    for line in changes or ["Nothing changes."]:
        print(f"  - {line}")
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    """Publish FILE to scoring; with --rescore, show re-scoring's progress until it is done."""
    import httpx

    text = _read(Path(args.file))
    if text is None:
        return 1
    if not args.api_key:
        print("an admin API key is needed: --api-key or LEADLOOP_API_KEY", file=sys.stderr)
        return 1
    headers = {"Authorization": f"Bearer {args.api_key}"}
    try:
        return asyncio.run(publish(args.scoring_url, headers, args.file, text, args.rescore))
    except httpx.HTTPError as exc:
        print(f"scoring at {args.scoring_url}: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1


async def publish(url: str, headers: dict[str, str], name: str, text: str, rescore: bool) -> int:
    """POST the agreement to scoring at `url`; then its progress, as `follow` shows it."""
    import httpx

    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30.0) as client:
        return await follow(client, name, text, rescore=rescore)


async def follow(client: httpx.AsyncClient, name: str, text: str, *, rescore: bool) -> int:
    """POST the agreement; one line on a refusal; then the progress until nothing is pending."""
    started = time.monotonic()
    resp = await client.post(
        "/v1/agreement",
        params={"rescore": "true"} if rescore else None,
        content=text.encode(),
        headers={"Content-Type": "application/yaml"},
    )
    if resp.status_code not in (200, 201):
        print(f"{name}: refused: {response_refusal(resp)}", file=sys.stderr)
        return 1
    body = resp.json()
    new = "published" if body["created"] else "already published"
    print(
        f"{name}: version {body['version']} {new}; {body['leads_to_rescore']:,} leads to re-score"
    )
    if not rescore or not body["leads_to_rescore"]:
        return 0
    while True:
        progress = await client.get("/v1/rescore")
        if progress.status_code != 200:
            print(f"progress: {response_refusal(progress)}", file=sys.stderr)
            return 1
        state = progress.json()
        if state["pending"] == 0:
            break
        rate = state["per_second"] or 0.0
        print(f"re-scoring: {state['done']:,} done, {state['pending']:,} pending, {rate:,.0f}/s")
        await asyncio.sleep(POLL_S)
    seconds = time.monotonic() - started
    print(
        f"re-scored: {state['done']:,} leads under {state['agreement_version']} in {seconds:.1f} s"
    )
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `agreement` command group."""
    group = sub.add_parser("agreement", help="the sales and marketing agreement").add_subparsers(
        dest="agreement_command", required=True
    )
    validate = group.add_parser("validate", help="check an agreement file; every error is shown")
    validate.add_argument("file", help="the agreement YAML file")
    validate.set_defaults(func=cmd_validate)
    diff = group.add_parser("diff", help="what changes for whom between two agreement files")
    diff.add_argument("old", help="the agreement in force (YAML file)")
    diff.add_argument("new", help="the proposed agreement (YAML file)")
    diff.set_defaults(func=cmd_diff)
    publish_cmd = group.add_parser(
        "publish", help="publish an agreement file to scoring; --rescore re-scores every lead"
    )
    publish_cmd.add_argument("file", help="the agreement YAML file")
    publish_cmd.add_argument("--rescore", action="store_true", help="re-score every lead")
    add_url(publish_cmd, "scoring")
    add_api_key(publish_cmd, "the admin scope")
    publish_cmd.set_defaults(func=cmd_publish)
