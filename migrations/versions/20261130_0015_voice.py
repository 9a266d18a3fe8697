"""the voice line: calls, recordings (case media), and `voice` among the case channels

Revision ID: 0015
Revises: 0013
Create Date: 2026-11-30 10:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db

revision: str = "0015"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_OLD = "channel IN ('sms', 'whatsapp', 'web', 'field')"
_NEW = "channel IN ('sms', 'whatsapp', 'web', 'field', 'voice')"


def _channels(check: str) -> None:
    with op.batch_alter_table("grievance_case") as batch:
        batch.drop_constraint(op.f("ck_grievance_case_channel"), type_="check")
        batch.create_check_constraint(op.f("ck_grievance_case_channel"), check)


def upgrade() -> None:
    _channels(_NEW)
    op.create_table(
        "case_media",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("provider_ref", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("content_type", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=True),
        sa.Column("seconds", sa.Integer(), nullable=True),
        sa.Column("data_enc", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("stored_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'stored', 'deleted', 'refused')", name=op.f("ck_case_media_state")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["grievance_case.id"], name=op.f("fk_case_media_case_id_grievance_case")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_media")),
        sa.UniqueConstraint("provider_ref", name=op.f("uq_case_media_provider_ref")),
    )
    with op.batch_alter_table("case_media", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_media_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            "ix_case_media_state_next", ["state", "next_attempt_at"], unique=False
        )

    op.create_table(
        "voice_call",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("call_sid", sqlmodel.sql.sqltypes.AutoString(length=34), nullable=False),
        sa.Column("reporter_id", sa.Uuid(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("danger", sa.Boolean(), nullable=True),
        sa.Column("recording_sid", sqlmodel.sql.sqltypes.AutoString(length=34), nullable=True),
        sa.Column("recording_seconds", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('callback', 'language', 'menu', 'recording', 'category', 'danger', "
            "'filed', 'ended')",
            name=op.f("ck_voice_call_state"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["grievance_case.id"], name=op.f("fk_voice_call_case_id_grievance_case")
        ),
        sa.ForeignKeyConstraint(
            ["reporter_id"], ["reporter.id"], name=op.f("fk_voice_call_reporter_id_reporter")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_call")),
        sa.UniqueConstraint("call_sid", name=op.f("uq_voice_call_call_sid")),
    )
    with op.batch_alter_table("voice_call", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_voice_call_reporter_id"), ["reporter_id"], unique=False
        )
        batch_op.create_index("ix_voice_call_state_updated", ["state", "updated_at"], unique=False)


def downgrade() -> None:
    op.execute("DELETE FROM case_media")
    with op.batch_alter_table("voice_call", schema=None) as batch_op:
        batch_op.drop_index("ix_voice_call_state_updated")
        batch_op.drop_index(batch_op.f("ix_voice_call_reporter_id"))

    op.drop_table("voice_call")
    with op.batch_alter_table("case_media", schema=None) as batch_op:
        batch_op.drop_index("ix_case_media_state_next")
        batch_op.drop_index(batch_op.f("ix_case_media_case_id"))

    op.drop_table("case_media")
    op.execute("UPDATE grievance_case SET channel = 'sms' WHERE channel = 'voice'")
    _channels(_OLD)
