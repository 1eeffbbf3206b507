"""Salesforce, both ways: a thin httpx client of the REST API (no SDK: the official ones are
Java/Node and simple-salesforce is synchronous; leadloop needs five documented endpoints) and
pure reading of the Outbound Messages that Flows and workflow rules send back.

What the user creates in Salesforce (Setup → Object Manager; names configurable):
- on Lead, a Text(64) field `Leadloop_Id__c` with "External ID" and "Unique" ticked: the Lead
  of each leadloop lead is upserted by it, so a retried delivery updates, never duplicates;
- on Task, a Text(64) field `Leadloop_Alert_Id__c`, "External ID" and "Unique": one Task per
  alert, however often the delivery is retried ("Unique" also spares the integration user the
  "View All Data" permission upserts by a non-unique external id need);
- an External Client App (or connected app) with OAuth enabled, the "Manage user data via
  APIs (api)" scope and "Enable Client Credentials Flow" with a "Run As" integration user; its
  consumer key and secret are LEADLOOP_SALESFORCE_CLIENT_ID / _CLIENT_SECRET and the org's My
  Domain URL is LEADLOOP_SALESFORCE_INSTANCE_URL (the token endpoint is on it);
- Outbound Messages (from a record-triggered Flow or a workflow rule) on Lead, Task and
  Opportunity changes, to leadloop's listener; LEADLOOP_SALESFORCE_ORG_ID is checked against
  each message's OrganizationId (15- and 18-character forms compare equal).

Leads need LastName and Company: when leadloop has no last name the company (else the email's
local part) stands in, and a missing company is sent as "[not provided]" (see lead_body).
"""

from leadloop_connectors.salesforce.auth import AccessToken, ClientCredentials, token_signature
from leadloop_connectors.salesforce.changes import (
    Change,
    LeadChange,
    OpportunityChange,
    TaskChange,
    change_of,
)
from leadloop_connectors.salesforce.client import (
    DEFAULT_API_VERSION,
    LEAD_EXTERNAL_FIELD,
    LIMIT_BACKOFF_S,
    TASK_EXTERNAL_FIELD,
    SalesforceClient,
    SalesforceUser,
    lead_body,
    soql_quote,
)
from leadloop_connectors.salesforce.ids import is_salesforce_id, same_id
from leadloop_connectors.salesforce.outbound import (
    ACK_BODY,
    ACK_CONTENT_TYPE,
    Notification,
    OutboundMessage,
    SObject,
    parse_outbound_message,
)

__all__ = [
    "ACK_BODY",
    "ACK_CONTENT_TYPE",
    "DEFAULT_API_VERSION",
    "LEAD_EXTERNAL_FIELD",
    "LIMIT_BACKOFF_S",
    "TASK_EXTERNAL_FIELD",
    "AccessToken",
    "Change",
    "ClientCredentials",
    "LeadChange",
    "Notification",
    "OpportunityChange",
    "OutboundMessage",
    "SObject",
    "SalesforceClient",
    "SalesforceUser",
    "TaskChange",
    "change_of",
    "is_salesforce_id",
    "lead_body",
    "parse_outbound_message",
    "same_id",
    "soql_quote",
    "token_signature",
]
