"""Feedback's schema: the closed-loop read model built from all four topics, CRM idempotency,
campaign costs. It holds no personal data: reports need sources, stages, reps and money. The
identity indexes keep an email only as the SHA-256 of its normalised form, never the address."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from leadloop_db.tables import outbox_table, processed_events_table
from leadloop_feedback import SCHEMA

metadata = sa.MetaData(schema=SCHEMA)
TS = sa.DateTime(timezone=True)

leads = sa.Table(
    "leads",
    metadata,
    sa.Column("lead_id", sa.String(64), primary_key=True),
    sa.Column("source", sa.String(100)),
    sa.Column("campaign", sa.String(200)),
    sa.Column("campaigns", ARRAY(sa.String(200)), nullable=False, server_default="{}"),
    sa.Column("company", sa.String(500)),
    sa.Column("first_seen_at", TS),
    sa.Column("stage", sa.String(20), nullable=False, server_default="lead"),
    sa.Column("fit", sa.Float),
    sa.Column("interest", sa.Float),
    sa.Column("grade", sa.String(1)),
    sa.Column("interest_band", sa.String(40)),
    sa.Column("erased", sa.Boolean, nullable=False, server_default=sa.text("false")),
    sa.Column("updated_at", TS, nullable=False),
)

stage_events = sa.Table(
    "stage_events",
    metadata,
    sa.Column("event_id", sa.String(64), primary_key=True),
    sa.Column("lead_id", sa.String(64), nullable=False, index=True),
    sa.Column("from_stage", sa.String(20), nullable=False),
    sa.Column("to_stage", sa.String(20), nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("at", TS, nullable=False),
)

assignments = sa.Table(
    "assignments",
    metadata,
    sa.Column("assignment_id", sa.String(36), primary_key=True),
    sa.Column("lead_id", sa.String(64), nullable=False, index=True),
    sa.Column("team", sa.String(100), nullable=False),
    sa.Column("rep_id", sa.String(100)),
    sa.Column("assigned_at", TS, nullable=False),
    sa.Column("sla_deadline", TS),
    sa.Column("first_touch_at", TS),
    sa.Column("breaches", sa.Integer, nullable=False, server_default="0"),
    sa.Column("reassignments", sa.Integer, nullable=False, server_default="0"),
)

reps = sa.Table(
    "reps",
    metadata,
    sa.Column("rep_id", sa.String(500), primary_key=True),
    sa.Column("first_seen_at", TS, nullable=False),
    sa.Column("name", sa.String(500)),
)
"""Every rep a hand-off named (assigned, or reassigned from or to): who may touch a lead."""


def identity_table(name: str, owner: str, owner_type: sa.String) -> sa.Table:
    """(kind, value) -> the one lead or rep it names: kind `email` (value: the SHA-256 hex of
    the normalised address, never the address), `hubspot` or `salesforce` (the CRM's id).
    `seen_at` is the time of the event that said so: a later event wins the value."""
    return sa.Table(
        name,
        metadata,
        sa.Column("kind", sa.String(20), primary_key=True),
        sa.Column("value", sa.String(64), primary_key=True),
        sa.Column(owner, owner_type, nullable=False, index=True),
        sa.Column("seen_at", TS, nullable=False),
    )


lead_identities = identity_table("lead_identities", "lead_id", sa.String(64))
"""How CRMs may name a lead: filled from lead.captured and an SQL's intelligence, erased with
the lead."""
rep_identities = identity_table("rep_identities", "rep_id", sa.String(500))
"""How CRMs may name a rep: filled from lead.assigned (owner_email, owner_crm_ids) and
lead.reassigned (to_crm_ids)."""

touches = sa.Table(
    "touches",
    metadata,
    sa.Column("crm_event_id", sa.String(200), primary_key=True),
    sa.Column("lead_id", sa.String(64), nullable=False, index=True),
    sa.Column("rep_id", sa.String(100), nullable=False),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("touched_at", TS, nullable=False),
)

statuses = sa.Table(
    "statuses",
    metadata,
    sa.Column("crm_event_id", sa.String(200), primary_key=True),
    sa.Column("lead_id", sa.String(64), nullable=False, index=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("reason_code", sa.String(100)),
    sa.Column("changed_at", TS, nullable=False),
)

deals = sa.Table(
    "deals",
    metadata,
    sa.Column("crm_event_id", sa.String(200), primary_key=True),
    sa.Column("deal_id", sa.String(200), nullable=False, index=True),
    sa.Column("lead_id", sa.String(64), nullable=False, index=True),
    sa.Column("stage", sa.String(20), nullable=False),
    sa.Column("amount", sa.Numeric(18, 2), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("recurring", sa.Boolean, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("closed_at", TS, nullable=False),
)

crm_inbox = sa.Table(
    "crm_inbox",
    metadata,
    sa.Column("event_key", sa.String(500), primary_key=True),
    sa.Column("system", sa.String(20), nullable=False),
    sa.Column("subscription_type", sa.String(200), nullable=False),
    sa.Column("object_type", sa.String(100), nullable=False),
    sa.Column("object_id", sa.String(200), nullable=False),
    sa.Column("property_name", sa.String(200)),
    sa.Column("property_value", sa.Text),
    sa.Column("occurred_at", TS, nullable=False),
    sa.Column("received_at", TS, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("outcome", sa.String(40)),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text),
    sa.Column("next_attempt_at", TS, nullable=False),
    sa.Column("lease_id", sa.String(64)),
    sa.Column("finished_at", TS),
    sa.Column("lead_id", sa.String(64), index=True),
    sa.Column("contact_ids", ARRAY(sa.String(200)), nullable=False, server_default="{}"),
    sa.Index("ix_feedback_crm_inbox_due", "status", "next_attempt_at"),
    sa.Index("ix_feedback_crm_inbox_contact_ids", "contact_ids", postgresql_using="gin"),
)
"""CRM notifications (HubSpot's deals, engagements, contact statuses) waiting to be read from
the CRM and recorded: one row per event key, leased by the inbox worker (ids only). `lead_id`
is the lead it resolved to, `contact_ids` the HubSpot contacts it names (a contact's own id,
or a deal's or engagement's associated contacts once read): a lead's erasure deletes both."""

campaigns = sa.Table(
    "campaigns",
    metadata,
    sa.Column("campaign_id", sa.String(200), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("spend", sa.Numeric(18, 2), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("updated_at", TS, nullable=False),
)

agreements = sa.Table(
    "agreements",
    metadata,
    sa.Column("version", sa.String(100), primary_key=True),
    sa.Column("document", JSONB, nullable=False),
    sa.Column("published_at", TS, nullable=False),
)

journey = sa.Table(
    "journey",
    metadata,
    sa.Column("event_id", sa.String(64), primary_key=True),
    sa.Column("lead_id", sa.String(64), nullable=False, index=True),
    sa.Column("event_type", sa.String(100), nullable=False),
    sa.Column("at", TS, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
)

crm_requests = sa.Table(
    "crm_requests",
    metadata,
    sa.Column("kind", sa.String(20), primary_key=True),
    sa.Column("crm_event_id", sa.String(200), primary_key=True),
    sa.Column("event_id", sa.String(64), nullable=False),
    sa.Column("lead_id", sa.String(64), nullable=False),
    sa.Column("received_at", TS, nullable=False),
    sa.Column("body", JSONB, nullable=False),
)

outbox = outbox_table(metadata)
processed_events = processed_events_table(metadata)
