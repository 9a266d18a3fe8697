"""outbox.provider and outbox.claimed_at, for the `sending` state

An item is claimed as `sending` in its own committed transaction before the provider is
called. `provider` says which provider that attempt went to and `claimed_at` when, so an
item found in `sending` after its sender died can be reconciled (looked up at Twilio, or
marked `unknown` where the provider cannot be asked) instead of being sent twice.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 07:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(
            sa.Column("provider", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
        )
        batch.add_column(sa.Column("claimed_at", app.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("claimed_at")
        batch.drop_column("provider")
