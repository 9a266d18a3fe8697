"""triage indexes: unread messages and pending deadlines, per partner

Partial indexes, so they stay small: they hold only the cases with unread reporter
messages, not yet acknowledged, or still waiting for feedback. They serve the queue's
`unread` filter and its `due` sort (app/cases/queue.py), and the deadline job.

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-25 22:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    (
        "ix_grievance_case_partner_unread",
        ["partner_id", "created_at", "id"],
        "unread_reporter_messages > 0",
    ),
    (
        "ix_grievance_case_partner_ack_due",
        ["partner_id", "ack_due_at", "id"],
        "acknowledged_at IS NULL",
    ),
    (
        "ix_grievance_case_partner_feedback_due",
        ["partner_id", "feedback_due_at", "id"],
        "feedback_given_at IS NULL",
    ),
)


def upgrade() -> None:
    for name, columns, where in INDEXES:
        op.create_index(
            name,
            "grievance_case",
            columns,
            unique=False,
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )


def downgrade() -> None:
    for name, _columns, _where in INDEXES:
        op.drop_index(name, table_name="grievance_case")
