"""What the CLI's commands that talk to a running service share: its URL and the API key as
options (with their environment defaults), and one line out of a refusal."""

from __future__ import annotations

import argparse
import os
from typing import Any

PORTS = {"intake": 8001, "scoring": 8002, "routing": 8003, "feedback": 8004}


def add_url(parser: argparse.ArgumentParser, service: str, flag: str | None = None) -> None:
    """`--<service>-url` (or `flag`): the service's base URL, LEADLOOP_<SERVICE>_URL by default."""
    variable = f"LEADLOOP_{service.upper()}_URL"
    default = os.environ.get(variable, f"http://127.0.0.1:{PORTS[service]}")
    parser.add_argument(
        flag or f"--{service}-url",
        default=default,
        help=f"{service}'s base URL (default {variable}, else http://127.0.0.1:{PORTS[service]})",
    )


def add_api_key(parser: argparse.ArgumentParser, needs: str) -> None:
    """`--api-key`: LEADLOOP_API_KEY by default, else LEADLOOP_BOOTSTRAP_API_KEY."""
    parser.add_argument(
        "--api-key",
        default=os.environ.get("LEADLOOP_API_KEY") or os.environ.get("LEADLOOP_BOOTSTRAP_API_KEY"),
        help=f"a key with {needs} (default LEADLOOP_API_KEY, else LEADLOOP_BOOTSTRAP_API_KEY)",
    )


def refusal(status: int, text: str, body: Any) -> str:
    """One line from a refusal: the problem's detail or title and its first error, else the
    first line of what was answered."""
    if not isinstance(body, dict):
        return f"{status}: {' '.join((text.splitlines() or [''])[0].split())[:300]}"
    errors = body.get("errors") or []
    first = errors[0] if errors and isinstance(errors[0], dict) else None
    where = f" ({first.get('field')}: {first.get('message')})" if first else ""
    reason = " ".join(str(body.get("detail") or body.get("title") or text).split())[:300]
    return f"{status}: {reason}{where}"


def response_refusal(response: Any) -> str:
    """`refusal` of an httpx response."""
    try:
        body = response.json()
    except ValueError:
        body = None
    return refusal(response.status_code, response.text, body)
