"""`leadloop agreement validate FILE` and `leadloop agreement diff OLD NEW`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


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
