"""Times on the dashboard: each a machine-readable `<time datetime>` whose text is UTC, labelled
so (what a browser without script shows), and which the dashboard's own script
(static/times.js, served at SCRIPT_PATH) rewrites in the viewer's time zone, labelled with the
zone's short name."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from functools import cache
from importlib.resources import files
from typing import Literal
from zoneinfo import available_timezones

from markupsafe import Markup, escape

Style = Literal["datetime", "time"]
FALLBACK: dict[Style, str] = {"datetime": "%d %b %H:%M UTC", "time": "%H:%M:%S UTC"}
TIME = Markup('<time datetime="{}" data-style="{}">{}</time>')
# How a journey line writes a time (domain.journey: "first touch due 2026-01-05 14:35 UTC.").
IN_TEXT = re.compile(r"\b(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}) UTC\b")

SCRIPT = files("leadloop_feedback").joinpath("static", "times.js").read_bytes()
SCRIPT_PATH = "/dashboard/times.js"
# The version in the script's URL, so a browser fetches a changed script at once.
SCRIPT_URL = f"{SCRIPT_PATH}?v={hashlib.sha256(SCRIPT).hexdigest()[:12]}"


def iso(at: datetime) -> str:
    """The instant in UTC as the `datetime` attribute carries it: 2026-01-05T14:05:00Z."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def when(at: datetime, style: Style = "datetime") -> Markup:
    """`at` as a `<time>`: machine-readable, its text in UTC and labelled UTC."""
    return TIME.format(iso(at), style, at.astimezone(UTC).strftime(FALLBACK[style]))


def timed(text: str) -> Markup:
    """The text, escaped, with every "YYYY-MM-DD HH:MM UTC" in it as a `<time>`."""

    def one(found: re.Match[str]) -> str:
        try:
            at = datetime.fromisoformat(f"{found[1]}T{found[2]}:00+00:00")
        except ValueError:
            return found[0]
        return str(TIME.format(iso(at), "datetime", found[0]))

    return Markup(IN_TEXT.sub(one, str(escape(text))))


@cache
def zones() -> frozenset[str]:
    """Every IANA time zone name this machine knows."""
    return frozenset(available_timezones())


def known_zone(name: str | None) -> str | None:
    """The name, if it is an IANA time zone ("Europe/Oslo"); a ValueError otherwise."""
    if name is not None and name not in zones():
        raise ValueError(f"{name!r} is not an IANA time zone name, such as Europe/Oslo")
    return name
