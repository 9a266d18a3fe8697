"""retention: organisation.retention_days; grievance_case.held_at, content_shredded_at

A partner's retention period after closure (default 1095 days), a legal hold that suspends
it, and the mark that a case's content was crypto-shredded (which makes retention runs
idempotent).

Revision ID: 0009
Revises: 0007
Create Date: 2026-11-30 07:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("organisation") as batch:
        batch.add_column(
            sa.Column("retention_days", sa.Integer(), nullable=False, server_default="1095")
        )
    with op.batch_alter_table("grievance_case") as batch:
        batch.add_column(sa.Column("held_at", UTCDateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("content_shredded_at", UTCDateTime(timezone=True), nullable=True)
        )
        batch.create_index("ix_grievance_case_closed", ["closed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("grievance_case") as batch:
        batch.drop_index("ix_grievance_case_closed")
        batch.drop_column("content_shredded_at")
        batch.drop_column("held_at")
    with op.batch_alter_table("organisation") as batch:
        batch.drop_column("retention_days")
