"""Routing's schema: reps, accounts, round-robin state, assignments with their SLA timers and
each rep's open-load counters, webhook subscriptions and deliveries, connector deliveries (CRM,
Slack), alert emails."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from leadloop_db.tables import outbox_table, processed_events_table
from leadloop_routing import SCHEMA

metadata = sa.MetaData(schema=SCHEMA)
TS = sa.DateTime(timezone=True)

reps = sa.Table(
    "reps",
    metadata,
    sa.Column("rep_id", sa.String(100), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("teams", ARRAY(sa.String(100)), nullable=False),
    sa.Column("weight", sa.Integer, nullable=False),
    sa.Column("max_open_per_day", sa.Integer),
    sa.Column("max_open_total", sa.Integer),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("work_start", sa.Time, nullable=False),
    sa.Column("work_end", sa.Time, nullable=False),
    sa.Column("workdays", ARRAY(sa.Integer), nullable=False),
    sa.Column("out_of_office", JSONB, nullable=False),
    sa.Column("manager_email", sa.String(320)),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    sa.Column("crm_ids", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.Column("synced_from", sa.String(20)),
    # One rep per CRM owner (a Salesforce id's 15-character form names the user either way).
    sa.Index(
        "uq_routing_reps_hubspot_owner",
        sa.text("(crm_ids ->> 'hubspot')"),
        unique=True,
        postgresql_where=sa.text("crm_ids ? 'hubspot'"),
    ),
    sa.Index(
        "uq_routing_reps_salesforce_user",
        sa.text("left(crm_ids ->> 'salesforce', 15)"),
        unique=True,
        postgresql_where=sa.text("crm_ids ? 'salesforce'"),
    ),
    sa.Index("ix_routing_reps_email", sa.text("lower(email)")),
)

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("domain", sa.String(255), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("owner_rep_id", sa.String(100), nullable=False),
    sa.Column("updated_at", TS, nullable=False),
)

round_robin = sa.Table(
    "round_robin",
    metadata,
    sa.Column("team", sa.String(100), primary_key=True),
    sa.Column("weights", JSONB, nullable=False),
)

agreements = sa.Table(
    "agreements",
    metadata,
    sa.Column("version", sa.String(100), primary_key=True),
    sa.Column("document", JSONB, nullable=False),
    sa.Column("published_at", TS, nullable=False),
)

assignments = sa.Table(
    "assignments",
    metadata,
    sa.Column("assignment_id", sa.String(36), primary_key=True),
    sa.Column("lead_id", sa.String(64), nullable=False, index=True),
    sa.Column("team", sa.String(100), nullable=False),
    sa.Column("rep_id", sa.String(100), index=True),
    sa.Column("queue", sa.String(100)),
    sa.Column("business", sa.String(10), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("agreement_version", sa.String(100), nullable=False),
    sa.Column("decision", JSONB, nullable=False),
    sa.Column("intelligence", JSONB),
    sa.Column("captured_at", TS),
    sa.Column("assigned_at", TS, nullable=False),
    sa.Column("sla_deadline", TS),
    sa.Column("first_touch_at", TS),
    sa.Column("reassignments", sa.Integer, nullable=False, server_default="0"),
    sa.Column("timer_due_at", TS),
    sa.Column("timer_step", sa.Integer, nullable=False, server_default="0"),
    sa.Column("history", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    sa.Index(
        "ix_routing_assignments_timer",
        "timer_due_at",
        postgresql_where=sa.text("timer_due_at IS NOT NULL"),
    ),
)

# Each rep's open SQLs (assignments owned, status open or touched), kept by every write that
# moves an assignment in or out of that set (adapters.rep_loads), so a hand-off reads one row
# per rep instead of the history: how many in total, and how many were assigned on `day`, the
# rep's local date (in `timezone`) of the latest one.
rep_loads = sa.Table(
    "rep_loads",
    metadata,
    sa.Column("rep_id", sa.String(100), primary_key=True),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("open_total", sa.Integer, nullable=False),
    sa.Column("day", sa.Date),
    sa.Column("day_count", sa.Integer, nullable=False),
)

webhook_subscriptions = sa.Table(
    "webhook_subscriptions",
    metadata,
    sa.Column("subscription_id", sa.String(36), primary_key=True),
    sa.Column("url", sa.String(2048), nullable=False),
    sa.Column("secret", sa.String(200), nullable=False),
    sa.Column("event_types", ARRAY(sa.String(100)), nullable=False),
    sa.Column("description", sa.String(500)),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_at", TS, nullable=False),
)

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("delivery_id", sa.String(36), primary_key=True),
    sa.Column("subscription_id", sa.String(36), nullable=False, index=True),
    sa.Column("event_id", sa.String(64), nullable=False),
    sa.Column("event_type", sa.String(100), nullable=False),
    sa.Column("lead_id", sa.String(64), index=True),
    sa.Column("payload", sa.LargeBinary, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("attempts", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    sa.Column("next_attempt_at", TS),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("delivered_at", TS),
    sa.UniqueConstraint("subscription_id", "event_id", name="uq_delivery_per_event"),
    sa.Index(
        "ix_routing_deliveries_due",
        "next_attempt_at",
        postgresql_where=sa.text("next_attempt_at IS NOT NULL"),
    ),
)

connector_deliveries = sa.Table(
    "connector_deliveries",
    metadata,
    sa.Column("delivery_id", sa.String(36), primary_key=True),
    # Insertion order: a lead's jobs reach each connector in the order they were queued.
    sa.Column("seq", sa.BigInteger, sa.Identity(always=True), nullable=False),
    sa.Column("connector", sa.String(20), nullable=False),
    sa.Column("event_id", sa.String(64), nullable=False),
    sa.Column("event_type", sa.String(100), nullable=False),
    sa.Column("lead_id", sa.String(64), nullable=False, index=True),
    sa.Column("payload", JSONB, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("attempts", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    sa.Column("progress", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    # What routing's state said when the job was queued (domain.connectors.JobContext).
    sa.Column("context", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.Column("next_attempt_at", TS),
    sa.Column("lease_id", sa.String(36)),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("finished_at", TS),
    sa.UniqueConstraint("connector", "event_id", name="uq_connector_delivery_per_event"),
    sa.Index(
        "ix_routing_connector_deliveries_line",
        "connector",
        "lead_id",
        "seq",
        postgresql_where=sa.text("status = 'pending'"),
    ),
    sa.Index(
        "ix_routing_connector_deliveries_due",
        "next_attempt_at",
        postgresql_where=sa.text("status = 'pending'"),
    ),
)

emails = sa.Table(
    "emails",
    metadata,
    sa.Column("email_id", sa.String(36), primary_key=True),
    sa.Column("dedupe_key", sa.String(200), nullable=False, unique=True),
    sa.Column("lead_id", sa.String(64), index=True),
    sa.Column("recipient", sa.String(320), nullable=False),
    sa.Column("message", sa.LargeBinary, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text),
    sa.Column("next_attempt_at", TS),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("sent_at", TS),
)

outbox = outbox_table(metadata)
processed_events = processed_events_table(metadata)
