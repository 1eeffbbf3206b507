"""The fake Salesforce org's state and its REST resources (see tests/vendors/salesforce.py for
the documents they follow): records by type and id, issued tokens, injected faults, the
requests received; upsert by external id, PATCH by id, and the SOQL subset leadloop sends."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import JSONResponse, Response


def _names(text: str) -> set[str]:
    return set(text.split())


ORG_ID = "00D5e000000KQ2eEAG"
INTEGRATION_USER_ID = "0055e000001AbCdAAK"
FIELDS: dict[str, set[str]] = {
    "Lead": _names(
        "Id FirstName LastName Company Email Title Country Status OwnerId IsConverted "
        "LeadSource Industry Description Leadloop_Id__c"
    ),
    "Task": _names(
        "Id WhoId WhatId OwnerId Subject Description ActivityDate Status Priority IsClosed "
        "TaskSubtype Leadloop_Alert_Id__c"
    ),
    "User": _names("Id Name Email IsActive UserType Username"),
}
EXTERNAL_IDS = {"Lead": "Leadloop_Id__c", "Task": "Leadloop_Alert_Id__c"}
REQUIRED = {"Lead": ("LastName", "Company"), "Task": ()}
DEFAULTS: dict[str, dict[str, Any]] = {
    "Lead": {"Status": "Open - Not Contacted", "IsConverted": False},
    "Task": {"Status": "Not Started", "Priority": "Normal", "IsClosed": False},
}
PREFIXES = {
    "Lead": "00Q",
    "Task": "00T",
    "User": "005",
    "Opportunity": "006",
    "Account": "001",
    "Contact": "003",
}
_SOQL = re.compile(
    r"SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<sobject>\w+)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?(?:\s+LIMIT\s+(?P<limit>\d+))?",
    re.IGNORECASE | re.DOTALL,
)
_CONDITION = re.compile(
    r"\s*(?P<field>\w+)\s*=\s*(?P<value>'(?:[^'\\]|\\.)*'|true|false|null)\s*(?:AND\b|$)",
    re.IGNORECASE,
)


def with_checksum(id15: str) -> str:
    """The 18-character form of a 15-character id (a 3-character case-insensitive suffix)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
    suffix = ""
    for chunk in (id15[0:5], id15[5:10], id15[10:15]):
        suffix += alphabet[sum(1 << i for i, c in enumerate(chunk) if "A" <= c <= "Z")]
    return id15 + suffix


def errors(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    """Salesforce's error body: a list of {message, errorCode}."""
    return JSONResponse([{"message": message, "errorCode": code}], status, headers=headers)


@dataclass(frozen=True)
class Recorded:
    """One API request as received."""

    method: str
    path: str
    query: str
    body: Any


@dataclass
class FakeSalesforce:
    """The org's state (records by type and id), its knobs and every request it got."""

    base_url: str
    client_id: str = "3MVG9-leadloop-consumer-key"
    client_secret: str = "leadloop-consumer-secret"
    # Sign token answers with another key: what a tampered or misrouted answer looks like.
    signing_secret: str | None = None
    org_id: str = ORG_ID
    page_size: int = 2000
    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    token_requests: int = 0
    requests: list[Recorded] = field(default_factory=list)
    faults: list[Response] = field(default_factory=list)
    cursors: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _serial: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def new_id(self, sobject: str) -> str:
        return with_checksum(f"{PREFIXES[sobject]}5e{next(self._serial):010d}")

    def expire_tokens(self) -> None:
        """Every issued token now answers 401 INVALID_SESSION_ID."""
        self.tokens.clear()

    def limit_exceeded(self, times: int = 1) -> None:
        """The next API calls answer 403 REQUEST_LIMIT_EXCEEDED."""
        for _ in range(times):
            self.faults.append(
                errors(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            )

    def rate_limit(self, retry_after_s: int, times: int = 1) -> None:
        """The next API calls answer 429 with Retry-After."""
        for _ in range(times):
            self.faults.append(
                errors(
                    429,
                    "REQUEST_LIMIT_EXCEEDED",
                    "Too many requests",
                    **{"Retry-After": str(retry_after_s)},
                )
            )

    def server_error(self, times: int = 1) -> None:
        """The next API calls answer 503."""
        for _ in range(times):
            self.faults.append(errors(503, "SERVER_UNAVAILABLE", "Service unavailable"))

    def add_user(self, name: str, email: str, active: bool = True) -> str:
        """Seed a standard user; returns its id."""
        user_id = self.new_id("User")
        self.records.setdefault("User", {})[user_id] = {
            "Id": user_id,
            "Name": name,
            "Email": email,
            "IsActive": active,
            "UserType": "Standard",
            "Username": email,
        }
        return user_id

    def convert_lead(self, lead_id: str, amount: str) -> dict[str, Any]:
        """Convert a Lead as a rep does (Lead Convert: an Account, a Contact and an open
        Opportunity; the Lead gets IsConverted, Converted*Id and Status "Closed - Converted"),
        with the field mapping the setup guide asks for (Leadloop_Id__c copied to the Contact
        and the Opportunity). Returns the Opportunity, to be moved as the test needs."""
        lead = self.records["Lead"][lead_id]
        leadloop_id = lead.get("Leadloop_Id__c")
        account = {"Id": self.new_id("Account"), "Name": lead.get("Company")}
        contact = {
            "Id": self.new_id("Contact"),
            "AccountId": account["Id"],
            "Email": lead.get("Email"),
            "LastName": lead.get("LastName"),
            "OwnerId": lead.get("OwnerId"),
            "Leadloop_Id__c": leadloop_id,
        }
        opportunity = {
            "Id": self.new_id("Opportunity"),
            "AccountId": account["Id"],
            "ContactId": contact["Id"],
            "OwnerId": lead.get("OwnerId"),
            "StageName": "Prospecting",
            "Amount": amount,
            "CloseDate": None,
            "IsClosed": False,
            "IsWon": False,
            "Leadloop_Id__c": leadloop_id,
        }
        for record, sobject in (
            (account, "Account"),
            (contact, "Contact"),
            (opportunity, "Opportunity"),
        ):
            self.records.setdefault(sobject, {})[record["Id"]] = record
        lead.update(
            IsConverted=True,
            Status="Closed - Converted",
            ConvertedAccountId=account["Id"],
            ConvertedContactId=contact["Id"],
            ConvertedOpportunityId=opportunity["Id"],
        )
        return opportunity

    def find(self, sobject: str, **where: Any) -> list[dict[str, Any]]:
        """The stored records of a type whose fields equal `where`."""
        rows = self.records.get(sobject, {}).values()
        return [r for r in rows if all(r.get(k) == v for k, v in where.items())]

    def api_calls(self, method: str, fragment: str = "") -> list[Recorded]:
        """The recorded API requests of a method whose path contains `fragment`."""
        return [r for r in self.requests if r.method == method and fragment in r.path]


def write(
    org: FakeSalesforce,
    method: str,
    sobject: str,
    key: list[str],
    body: dict[str, Any],
    version: str,
) -> Response:
    """PATCH by id, PATCH (upsert) or GET by external id."""
    store = org.records.setdefault(sobject, {})
    unknown = sorted(set(body) - FIELDS[sobject])
    if unknown:
        return errors(
            400, "INVALID_FIELD", f"No such column '{unknown[0]}' on sobject of type {sobject}"
        )
    if len(key) == 1:  # /sobjects/Lead/<id>
        if key[0] not in store or method != "PATCH":
            return errors(404, "NOT_FOUND", "The requested resource does not exist")
        store[key[0]].update(body)
        return Response(status_code=204)
    ext_field, value = key
    if ext_field != EXTERNAL_IDS[sobject]:
        return errors(
            404,
            "NOT_FOUND",
            f"Provided external ID field does not exist or is not accessible: {ext_field}",
        )
    found = org.find(sobject, **{ext_field: value})
    if method == "GET":
        return JSONResponse(found[0]) if found else errors(404, "NOT_FOUND", "Not found")
    if found:
        found[0].update(body)
        if float(version.lstrip("v")) < 46.0:
            return Response(status_code=204)
        return JSONResponse({"id": found[0]["Id"], "success": True, "errors": [], "created": False})
    missing = [name for name in REQUIRED[sobject] if not body.get(name)]
    if missing:
        return errors(
            400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]"
        )
    record_id = org.new_id(sobject)
    store[record_id] = {
        **DEFAULTS[sobject],
        "OwnerId": INTEGRATION_USER_ID,
        **body,
        ext_field: value,
        "Id": record_id,
    }
    return JSONResponse({"id": record_id, "success": True, "errors": [], "created": True}, 201)


def run_query(org: FakeSalesforce, soql: str, locator: list[str], version: str) -> Response:
    """A SOQL query (or the next batch of one), paged by `page_size`."""
    if locator:
        cursor, _, offset = locator[0].rpartition("-")
        if cursor not in org.cursors:
            return errors(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        rows, start = org.cursors[cursor], int(offset)
    else:
        try:
            rows, start = select(org, soql.strip(), version), 0
        except ValueError as exc:
            return errors(400, "MALFORMED_QUERY", str(exc))
        cursor = f"01g5e{len(org.cursors):010d}"
        org.cursors[cursor] = rows
    batch, end = rows[start : start + org.page_size], start + org.page_size
    page: dict[str, Any] = {"totalSize": len(rows), "done": end >= len(rows), "records": batch}
    if end < len(rows):
        page["nextRecordsUrl"] = f"/services/data/{version}/query/{cursor}-{end}"
    return JSONResponse(page)


def select(org: FakeSalesforce, soql: str, version: str) -> list[dict[str, Any]]:
    match = _SOQL.fullmatch(soql)
    if match is None:
        raise ValueError(f"unexpected SOQL: {soql}")
    sobject = match["sobject"]
    names = [name.strip() for name in match["fields"].split(",")]
    where: dict[str, Any] = {}
    for cond in _CONDITION.finditer(match["where"] or ""):
        text = cond["value"]
        literal = {"true": True, "false": False, "null": None}.get(text.lower(), text)
        if isinstance(literal, str):
            literal = re.sub(r"\\(.)", r"\1", literal[1:-1])
        where[cond["field"]] = literal
    if sobject not in FIELDS or not set(names) | set(where) <= FIELDS[sobject]:
        raise ValueError(f"unknown object or field in: {soql}")
    rows = org.find(sobject, **where)[: int(match["limit"] or 10**9)]
    return [
        {
            "attributes": {
                "type": sobject,
                "url": f"/services/data/{version}/sobjects/{sobject}/{row['Id']}",
            },
            **{name: row.get(name) for name in names},
        }
        for row in rows
    ]
