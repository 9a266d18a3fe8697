"""media of messages (photos, voice notes) and constrained states: case_media.message_id
(the reporter's message it came with), case_media.provider_ref wide enough for Twilio's
"MM.../ME..." pair; conversation.state and outbox.state limited to their vocabularies

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here: a later member of the enums needs a migration of its own.
CONVERSATION_STATES = ("language", "narrative", "workplace", "open")
OUTBOX_STATES = (
    "pending",
    "sending",
    "held_window",
    "no_credentials",
    "sent",
    "delivered",
    "read",
    "failed",
    "undelivered",
    "opted_out",
    "unknown",
)


def _in(values: tuple[str, ...]) -> str:
    return "state IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    with op.batch_alter_table("case_media") as batch:
        batch.add_column(sa.Column("message_id", sa.Uuid(), nullable=True))
        batch.alter_column(
            "provider_ref",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=64),
            type_=sqlmodel.sql.sqltypes.AutoString(length=80),
            existing_nullable=False,
        )
        batch.create_foreign_key(
            op.f("fk_case_media_message_id_case_message"), "case_message", ["message_id"], ["id"]
        )
        batch.create_index(op.f("ix_case_media_message_id"), ["message_id"], unique=False)
    with op.batch_alter_table("conversation") as batch:
        batch.create_check_constraint(op.f("ck_conversation_state"), _in(CONVERSATION_STATES))
    with op.batch_alter_table("outbox") as batch:
        batch.create_check_constraint(op.f("ck_outbox_state"), _in(OUTBOX_STATES))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint(op.f("ck_outbox_state"), type_="check")
    with op.batch_alter_table("conversation") as batch:
        batch.drop_constraint(op.f("ck_conversation_state"), type_="check")
    with op.batch_alter_table("case_media") as batch:
        batch.drop_index(op.f("ix_case_media_message_id"))
        batch.drop_constraint(op.f("fk_case_media_message_id_case_message"), type_="foreignkey")
        batch.alter_column(
            "provider_ref",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=80),
            type_=sqlmodel.sql.sqltypes.AutoString(length=64),
            existing_nullable=False,
        )
        batch.drop_column("message_id")
