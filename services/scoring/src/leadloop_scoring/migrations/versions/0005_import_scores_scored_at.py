"""When each import capture was scored (#17), so the counts can be purged after a retention.

Revision ID: scoring_0005
Revises: scoring_0004
"""

import sqlalchemy as sa
from alembic import op

revision = "scoring_0005"
down_revision = "scoring_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows counted before this migration take its time: they are purged a retention from now.
    op.add_column(
        "import_scores",
        sa.Column(
            "scored_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        schema="scoring",
    )
    op.create_index(
        "ix_scoring_import_scores_scored_at",
        "import_scores",
        ["scored_at"],
        schema="scoring",
    )


def downgrade() -> None:
    op.drop_index("ix_scoring_import_scores_scored_at", "import_scores", schema="scoring")
    op.drop_column("import_scores", "scored_at", schema="scoring")
