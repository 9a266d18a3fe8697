"""outbox.opt_out_notice; index on inbound_event.reporter_id

`opt_out_notice` marks the one message an opted-out reporter still gets, the confirmation of
their STOP (sent through the outbox on the WhatsApp Cloud API path). The index serves
finding a reporter's inbound events (retention, shredding).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(
            sa.Column("opt_out_notice", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_index(
        op.f("ix_inbound_event_reporter_id"), "inbound_event", ["reporter_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_inbound_event_reporter_id"), table_name="inbound_event")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("opt_out_notice")
