"""A stored alert email sent as it is stored: the bytes and the envelope aiosmtplib's
`send_message` would have made from the parsed message with From added (`message["From"] =
sender`, then flattened by `email.policy.SMTP`), without parsing the body or writing it again.

That flattening writes a header parsed from the bytes as it was, unless one of its lines is
longer than 78 characters (then it is refolded); it writes the parts as they were, unless the
server lacks 8BITMIME and a part is 8bit (then it is re-encoded). `wire` returns None for such
messages, and for those that name their own sender, a Bcc, or an address that needs SMTPUTF8:
they go through `send_message` as before. tests/unit/routing/test_smtp_wire.py compares both.
"""

from __future__ import annotations

from dataclasses import dataclass
from email import policy
from email.parser import BytesHeaderParser

from aiosmtplib import SMTP, SMTPHeloError
from aiosmtplib.email import extract_recipients, extract_sender

POLICY = policy.default
MAX_LINE = POLICY.max_line_length or 78
_OWN = ("From", "Sender", "Bcc", "Resent-Date", "Resent-Bcc")
_PARSER = BytesHeaderParser(policy=POLICY)


@dataclass(frozen=True)
class Wire:
    """What goes to the server: the envelope and the DATA (line endings as stored)."""

    sender: str
    recipients: list[str]
    data: bytes


def wire(stored: bytes, sender: str) -> Wire | None:
    """The stored email with a From line for `sender` after its headers, as the server would
    get it through `send_message`; None when flattening would change more than that."""
    end = stored.find(b"\n\n") + 1
    if end <= 0 or not stored[:end].isascii():
        return None
    head = stored[:end]
    if any(len(line) > MAX_LINE for line in head.splitlines()):
        return None
    headers = _PARSER.parsebytes(head)
    if any(name in headers for name in _OWN):
        return None
    headers["From"] = sender
    envelope_from, recipients = extract_sender(headers), extract_recipients(headers)
    if envelope_from is None or not recipients:
        return None
    if not (envelope_from + "".join(recipients)).isascii():
        return None
    from_line = POLICY.fold_binary("From", headers["From"])
    return Wire(envelope_from, recipients, head + from_line + stored[end:])


async def helo(client: SMTP) -> None:
    """EHLO, or HELO when the server refuses it, once per connection (as `send_message`)."""
    if client.is_ehlo_or_helo_needed:
        try:
            await client.ehlo()
        except SMTPHeloError:
            if not client.is_connected:
                raise
            await client.helo()
