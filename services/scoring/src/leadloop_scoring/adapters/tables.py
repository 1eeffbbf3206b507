"""Scoring's schema: profiles, activity, current scores and stages, their history, agreements."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from leadloop_db.tables import outbox_table, processed_events_table
from leadloop_scoring import SCHEMA
from leadloop_scoring.domain.lead import CAMPAIGN_CHARS, SOURCE_CHARS

metadata = sa.MetaData(schema=SCHEMA)
TS = sa.DateTime(timezone=True)

agreements = sa.Table(
    "agreements",
    metadata,
    sa.Column("version", sa.String(100), primary_key=True),
    sa.Column("checksum", sa.String(64), nullable=False),
    sa.Column("document", JSONB, nullable=False),
    sa.Column("source_yaml", sa.Text, nullable=False),
    sa.Column("published_at", TS, nullable=False),
    sa.Column("published_by", sa.String(100)),
)

leads = sa.Table(
    "leads",
    metadata,
    sa.Column("lead_id", sa.String(64), primary_key=True),
    sa.Column("profile", JSONB),
    sa.Column("stage", sa.String(20), nullable=False, server_default="lead"),
    sa.Column("stage_changed_at", TS, nullable=False),
    sa.Column("fit", sa.Float, nullable=False, server_default="0"),
    sa.Column("interest", sa.Float, nullable=False, server_default="0"),
    sa.Column("total", sa.Float, nullable=False, server_default="0"),
    sa.Column("grade", sa.String(1), nullable=False, server_default="D"),
    sa.Column("interest_band", sa.String(40), nullable=False, server_default=""),
    sa.Column("breakdown", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    sa.Column("agreement_version", sa.String(100)),
    sa.Column("sources", ARRAY(sa.String(SOURCE_CHARS)), nullable=False, server_default="{}"),
    sa.Column("campaigns", ARRAY(sa.String(CAMPAIGN_CHARS)), nullable=False, server_default="{}"),
    sa.Column("first_source", sa.String(SOURCE_CHARS)),
    sa.Column("first_campaign", sa.String(CAMPAIGN_CHARS)),
    sa.Column("captured_at", TS),
    sa.Column("recycled_at", TS),
    sa.Column("next_rescore_at", TS),
    sa.Column("erased_at", TS),
    sa.Column("external_ids", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.Column("updated_at", TS, nullable=False),
    sa.Index(
        "ix_scoring_leads_rescore",
        "next_rescore_at",
        postgresql_where=sa.text("next_rescore_at IS NOT NULL"),
    ),
)

activities = sa.Table(
    "activities",
    metadata,
    sa.Column("activity_id", sa.String(64), primary_key=True),
    sa.Column("lead_id", sa.String(64), nullable=False),
    sa.Column("activity_type", sa.String(40), nullable=False),
    sa.Column("occurred_at", TS, nullable=False),
    sa.Column("url", sa.String(2048)),
    sa.Column("campaign", sa.String(CAMPAIGN_CHARS)),
    sa.Index("ix_scoring_activities_lead", "lead_id", "occurred_at"),
)

score_history = sa.Table(
    "score_history",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("lead_id", sa.String(64), nullable=False, index=True),
    sa.Column("fit", sa.Float, nullable=False),
    sa.Column("interest", sa.Float, nullable=False),
    sa.Column("total", sa.Float, nullable=False),
    sa.Column("grade", sa.String(1), nullable=False),
    sa.Column("interest_band", sa.String(40), nullable=False),
    sa.Column("breakdown", JSONB, nullable=False),
    sa.Column("agreement_version", sa.String(100), nullable=False),
    sa.Column("cause", sa.String(100), nullable=False),
    sa.Column("scored_at", TS, nullable=False),
)

stage_history = sa.Table(
    "stage_history",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("lead_id", sa.String(64), nullable=False, index=True),
    sa.Column("from_stage", sa.String(20), nullable=False),
    sa.Column("to_stage", sa.String(20), nullable=False),
    sa.Column("applied", sa.Boolean, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("agreement_version", sa.String(100)),
    sa.Column("cause", sa.String(100), nullable=False),
    sa.Column("changed_at", TS, nullable=False),
)

# One row per lead.captured of a CSV import scored, written in its scoring's transaction:
# `GET /v1/imports/{id}/scoring` counts them (event ids only: nothing to erase).
import_scores = sa.Table(
    "import_scores",
    metadata,
    sa.Column("import_id", sa.String(64), primary_key=True),
    sa.Column("event_id", sa.String(64), primary_key=True),
    # When the capture was scored: counts older than LEADLOOP_IMPORT_SCORES_RETENTION_DAYS go.
    sa.Column("scored_at", TS, nullable=False, server_default=sa.func.now(), index=True),
)

outbox = outbox_table(metadata)
processed_events = processed_events_table(metadata)
