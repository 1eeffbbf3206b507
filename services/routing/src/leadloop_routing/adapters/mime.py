"""A plain-text and HTML email written straight to bytes: the bytes `EmailMessage` (policy
`email.policy.default`) gives for `set_content(text)`, `add_alternative(html, subtype="html")`
and `as_bytes()`, at a fraction of its CPU (it parses and re-folds every header it sets, ~14
per message). Only the To and Subject headers, which any value can reach, go through the
policy's own parsing and folding; every other line is fixed or ASCII of a known shape.
tests/unit/routing/test_alert_email_bytes.py compares the two, byte for byte.
"""

from __future__ import annotations

import binascii
import random
import sys
from email import policy, quoprimime

POLICY = policy.default
MAX_LINE = POLICY.max_line_length or 78  # 78 (None would mean unlimited: not this policy)
# What Generator._make_boundary makes: 15 '=', a random number of 19 digits, '=='.
_WIDTH = len(repr(sys.maxsize - 1))


def _header(name: str, value: str) -> bytes:
    """One header as the policy folds it (RFC 2047 words for non-ASCII, lines of 78)."""
    return POLICY.fold_binary(name, POLICY.header_store_parse(name, value)[1])


def _base64(data: bytes) -> bytes:
    step = MAX_LINE // 4 * 3
    return b"".join(binascii.b2a_base64(data[i : i + step]) for i in range(0, len(data), step))


def _body(text: str) -> tuple[bytes, bytes]:
    """The transfer encoding and the encoded body set_content chooses for a UTF-8 text."""
    lines = text.encode().splitlines()
    body = b"\n".join(lines) + b"\n"
    if max((len(line) for line in lines), default=0) <= MAX_LINE:
        return (b"7bit" if body.isascii() else b"8bit"), body
    sniff = b"\n".join(lines[:10]) + b"\n"
    sniff_qp = quoprimime.body_encode(sniff.decode("latin-1"), MAX_LINE)
    if len(sniff_qp) > len(binascii.b2a_base64(sniff)):
        return b"base64", _base64(body)
    if len(lines) <= 10:
        return b"quoted-printable", sniff_qp.encode("ascii")
    return b"quoted-printable", quoprimime.body_encode(body.decode("latin-1"), MAX_LINE).encode()


def _part(subtype: bytes, text: str, trailer: bytes = b"") -> bytes:
    cte, body = _body(text)
    return (
        b"Content-Type: text/" + subtype + b'; charset="utf-8"\n'
        b"Content-Transfer-Encoding: " + cte + b"\n" + trailer + b"\n" + body
    )


def _boundary(parts: list[bytes]) -> bytes:
    """A random boundary no line of the parts starts with (the generator's rule)."""
    while True:
        boundary = b"=" * 15 + b"%0*d" % (_WIDTH, random.randrange(sys.maxsize)) + b"=="
        if not any(b"\n--" + boundary in b"\n" + part for part in parts):
            return boundary


def alternative_email(
    *, to: str, message_id: str, date: str, subject: str, text: str, html: str
) -> bytes:
    """A multipart/alternative message (text, then HTML) with these headers, as bytes."""
    # add_alternative gives the HTML part a MIME-Version of its own: kept, so the bytes match.
    parts = [_part(b"plain", text), _part(b"html", html, b"MIME-Version: 1.0\n")]
    boundary = _boundary(parts)
    head = [
        _header("To", to),
        b"Message-ID: %s\n" % message_id.encode("ascii"),
        b"Date: %s\n" % date.encode("ascii"),
        _header("Subject", subject),
        b"MIME-Version: 1.0\n",
        b'Content-Type: multipart/alternative;\n boundary="%s"\n\n' % boundary,
    ]
    delimiter = b"--" + boundary
    middle = (b"\n" + delimiter + b"\n").join(parts)
    return b"".join(head) + delimiter + b"\n" + middle + b"\n" + delimiter + b"--\n"
