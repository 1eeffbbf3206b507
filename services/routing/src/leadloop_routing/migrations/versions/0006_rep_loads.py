"""Each rep's open SQLs as counters (#17), so a hand-off reads one row per rep, not the history:
`rep_loads`, counted from the existing assignments (owned, open or touched) in each rep's time
zone; a rep with none gets a row of zeros, an owner routing has no rep for counts in UTC.

Revision ID: routing_0006
Revises: routing_0005
"""

import sqlalchemy as sa
from alembic import op

revision = "routing_0006"
down_revision = "routing_0005"
branch_labels = None
depends_on = None

BACKFILL = """
INSERT INTO routing.rep_loads (rep_id, timezone, open_total, day, day_count)
SELECT rep_id, timezone, count(local), max(local), count(*) FILTER (WHERE local = latest)
FROM (
    SELECT z.rep_id, z.timezone, d.local, max(d.local) OVER (PARTITION BY z.rep_id) AS latest
    FROM (
        SELECT rep_id, timezone FROM routing.reps
        UNION
        SELECT DISTINCT a.rep_id, 'UTC' FROM routing.assignments AS a
        WHERE a.rep_id IS NOT NULL AND a.status IN ('open', 'touched')
          AND NOT EXISTS (SELECT 1 FROM routing.reps AS r WHERE r.rep_id = a.rep_id)
    ) AS z
    LEFT JOIN routing.assignments AS a
      ON a.rep_id = z.rep_id AND a.status IN ('open', 'touched')
    CROSS JOIN LATERAL (SELECT (a.assigned_at AT TIME ZONE z.timezone)::date AS local) AS d
) AS dated
GROUP BY rep_id, timezone
"""


def upgrade() -> None:
    op.create_table(
        "rep_loads",
        sa.Column("rep_id", sa.String(length=100), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("open_total", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=True),
        sa.Column("day_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("rep_id"),
        schema="routing",
    )
    # Writers wait until the counters are in place (this runs in the migration's transaction).
    op.execute("LOCK TABLE routing.assignments IN SHARE MODE")
    op.execute(BACKFILL)


def downgrade() -> None:
    op.drop_table("rep_loads", schema="routing")
