"""Salesforce Outbound Messages: the SOAP `notifications` a Flow or workflow rule POSTs when a
record changes, read into typed values, and the acknowledgement Salesforce waits for.

https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_om_outboundmessaging_wsdl.htm:
`notifications` (namespace http://soap.sforce.com/2005/09/outbound) holds OrganizationId,
ActionId, SessionId (nillable), EnterpriseUrl, PartnerUrl and up to 100 Notification elements,
each an `Id` (the notification's, kept by Salesforce across its retries) and an `sObject` of
xsi:type `sf:Lead`, `sf:Task`, `sf:Opportunity`... whose children (namespace
urn:sobject.enterprise.soap.sforce.com) are the fields chosen for the message. The listener
answers `notificationsResponse` with `<Ack>true</Ack>`; until it does, Salesforce resends.

Parsing is safe by refusal: a body with a DOCTYPE or an ENTITY declaration is refused before
it is parsed, so no entity is ever expanded; the body must be UTF-8 (what Salesforce sends).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND = "http://soap.sforce.com/2005/09/outbound"
SOBJECT = "urn:sobject.enterprise.soap.sforce.com"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_NOTIFICATIONS = 100

ACK_CONTENT_TYPE = "text/xml; charset=utf-8"
ACK_BODY = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}">'
    "<soapenv:Body>"
    f'<notificationsResponse xmlns="{OUTBOUND}"><Ack>true</Ack></notificationsResponse>'
    "</soapenv:Body>"
    "</soapenv:Envelope>"
).encode()


@dataclass(frozen=True)
class SObject:
    """One record as the message carries it: its type ("Lead") and the chosen fields, each
    text or None (xsi:nil)."""

    type: str
    fields: dict[str, str | None]

    @property
    def id(self) -> str | None:
        """The record's Id, when the message carries it."""
        return self.fields.get("Id")

    def get(self, name: str) -> str | None:
        """A field's text, None when absent or nil."""
        return self.fields.get(name)

    def flag(self, name: str) -> bool | None:
        """A boolean field ("true"/"false"), None when absent or nil."""
        value = self.fields.get(name)
        return None if value is None else value.strip().lower() == "true"


@dataclass(frozen=True)
class Notification:
    """One change: the notification id (stable across Salesforce's retries) and the record."""

    id: str
    sobject: SObject


@dataclass(frozen=True)
class OutboundMessage:
    """A whole `notifications` call."""

    organization_id: str
    action_id: str
    session_id: str | None
    enterprise_url: str
    partner_url: str
    notifications: tuple[Notification, ...]


def parse_outbound_message(body: bytes) -> OutboundMessage:
    """The message in a SOAP body; ValueError naming what is wrong with a bad one."""
    root = _safe_root(body)
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise ValueError(f"not a SOAP envelope: the root element is {root.tag}")
    node = root.find(f"{{{SOAP_ENV}}}Body/{{{OUTBOUND}}}notifications")
    if node is None:
        raise ValueError(f"no notifications element ({OUTBOUND}) in the SOAP body")
    items = node.findall(f"{{{OUTBOUND}}}Notification")
    if not items:
        raise ValueError("notifications without any Notification")
    if len(items) > MAX_NOTIFICATIONS:
        raise ValueError(f"{len(items)} notifications; Salesforce sends at most 100")
    return OutboundMessage(
        organization_id=_required(node, "OrganizationId"),
        action_id=_required(node, "ActionId"),
        session_id=_text(node.find(f"{{{OUTBOUND}}}SessionId")),
        enterprise_url=_text(node.find(f"{{{OUTBOUND}}}EnterpriseUrl")) or "",
        partner_url=_text(node.find(f"{{{OUTBOUND}}}PartnerUrl")) or "",
        notifications=tuple(_notification(item) for item in items),
    )


def _safe_root(body: bytes) -> ET.Element:
    if len(body) > MAX_BODY_BYTES:
        raise ValueError(f"body of {len(body)} bytes is larger than {MAX_BODY_BYTES}")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError("body is not UTF-8") from exc
    upper = text.upper()
    if "<!DOCTYPE" in upper or "<!ENTITY" in upper:
        raise ValueError("DOCTYPE or ENTITY declarations are refused")
    try:
        # Parsed from text, so an encoding declaration cannot change how the bytes are read.
        return ET.fromstring(text)
    except ET.ParseError as exc:
        raise ValueError(f"body is not well-formed XML: {exc}") from exc


def _text(node: ET.Element | None) -> str | None:
    if node is None or node.get(f"{{{XSI}}}nil") == "true":
        return None
    return (node.text or "").strip()


def _required(parent: ET.Element, name: str) -> str:
    value = _text(parent.find(f"{{{OUTBOUND}}}{name}"))
    if not value:
        raise ValueError(f"notifications without {name}")
    return value


def _notification(item: ET.Element) -> Notification:
    notification_id = _required(item, "Id")
    node = item.find(f"{{{OUTBOUND}}}sObject")
    if node is None:
        raise ValueError(f"Notification {notification_id} without an sObject")
    declared = node.get(f"{{{XSI}}}type") or ""
    sobject_type = declared.rpartition(":")[2]
    if not sobject_type.isidentifier():
        raise ValueError(f"Notification {notification_id}: sObject type {declared!r} is not valid")
    fields: dict[str, str | None] = {}
    for child in node:
        namespace, _, name = child.tag[1:].partition("}")
        if namespace != SOBJECT:
            raise ValueError(f"Notification {notification_id}: field {child.tag} not in {SOBJECT}")
        fields[name] = _text(child)
    return Notification(notification_id, SObject(sobject_type, fields))
