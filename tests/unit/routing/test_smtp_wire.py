"""A stored alert email sent as stored is what send_message of the parsed message sent."""

from __future__ import annotations

import random
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtplib.email import extract_recipients, extract_sender, flatten_message
from aiosmtplib.protocol import normalize_message_line_endings

from leadloop_routing.adapters.mailer import alert_email_bytes, alert_parts
from leadloop_routing.adapters.smtp_wire import wire
from tests.unit.routing.test_alert_email_bytes import TO, alert

SENDERS = ["leadloop <leads@leadloop.invalid>", "Léa from leadloop <lea@leadloop.invalid>"]


def parsed_with_sender(stored: bytes, sender: str) -> EmailMessage:
    """The message as the worker sent it before: parsed, then its From set."""
    message = message_from_bytes(stored, policy=policy.default)
    assert isinstance(message, EmailMessage)
    message["From"] = sender
    return message


def alerts(seed: int, count: int) -> list[bytes]:
    """Stored alerts whose values reach every encoding and long, non-ASCII headers."""
    rng = random.Random(seed)
    return [alert_email_bytes(rng.choice(TO), alert_parts(**alert(rng))) for _ in range(count)]


@pytest.mark.parametrize("seed", range(4))
def test_the_data_and_envelope_are_those_send_message_made(seed: int) -> None:
    fast = 0
    for stored in alerts(seed, 60):
        sender = random.Random(len(stored)).choice(SENDERS)
        ready = wire(stored, sender)
        message = parsed_with_sender(stored, sender)
        if ready is None:
            # Only a header line flattening would refold sends the parsed message.
            assert any(len(line) > 78 for line in stored.split(b"\n\n")[0].splitlines())
            continue
        fast += 1
        assert (ready.sender, ready.recipients) == (
            extract_sender(message),
            extract_recipients(message),
        )
        data = normalize_message_line_endings(ready.data)
        assert data == flatten_message(message, cte_type="8bit")  # a server with 8BITMIME
        seven_bit = flatten_message(message, cte_type="7bit")  # a server without 8BITMIME
        # Sent as stored to such a server only when ASCII: an 8bit part would be re-encoded.
        assert (data == seven_bit) == stored.isascii()
    assert fast >= 30


def test_a_header_line_flattening_would_refold_is_not_sent_as_stored() -> None:
    [stored] = alerts(1, 1)
    long = b"Subject: " + b"word " * 20 + b"\n" + stored
    message = parsed_with_sender(long, "leadloop <leads@leadloop.invalid>")
    assert not flatten_message(message).startswith(b"Subject: " + b"word " * 15)
    assert wire(long, "leadloop <leads@leadloop.invalid>") is None


def test_a_message_that_names_its_sender_or_needs_smtputf8_is_not_sent_as_stored() -> None:
    [stored] = alerts(0, 1)
    assert wire(stored, "leadloop <leads@leadloop.invalid>") is not None
    assert wire(b"From: a@b.example\n" + stored, "leadloop <leads@leadloop.invalid>") is None
    assert wire(b"Bcc: a@b.example\n" + stored, "leadloop <leads@leadloop.invalid>") is None
    assert wire(stored, "leadloop <léa@leadloop.invalid>") is None
    assert wire(b"no headers", "leadloop <leads@leadloop.invalid>") is None
