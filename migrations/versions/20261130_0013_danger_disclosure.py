"""danger and consent to be identified: a reporter's question may ask whether they agree to
be identified; the disclosures they grant (encrypted details, revocable)

Revision ID: 0013
Revises: 0011
Create Date: 2026-11-30 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db

revision: str = "0013"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS = "kind IN ('consent', 'verification', 'satisfaction'{})"


def upgrade() -> None:
    with op.batch_alter_table("reporter_question") as batch:
        batch.drop_constraint(op.f("ck_reporter_question_kind"), type_="check")
        batch.create_check_constraint(
            op.f("ck_reporter_question_kind"), _KINDS.format(", 'identify'")
        )
    op.create_table(
        "identity_disclosure",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("requested_by", sa.Uuid(), nullable=False),
        sa.Column("question_id", sa.Uuid(), nullable=True),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("details_enc", sa.LargeBinary(), nullable=True),
        sa.Column("reveal_address", sa.Boolean(), nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('asked', 'granted', 'refused', 'revoked', 'unanswered')",
            name=op.f("ck_identity_disclosure_state"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["grievance_case.id"],
            name=op.f("fk_identity_disclosure_case_id_grievance_case"),
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["organisation.id"],
            name=op.f("fk_identity_disclosure_partner_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            ["staff_user.id"],
            name=op.f("fk_identity_disclosure_requested_by_staff_user"),
        ),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["reporter_question.id"],
            name=op.f("fk_identity_disclosure_question_id_reporter_question"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_disclosure")),
    )
    op.create_index(
        "ix_identity_disclosure_case",
        "identity_disclosure",
        ["case_id", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_identity_disclosure_case", table_name="identity_disclosure")
    op.drop_table("identity_disclosure")
    op.execute("DELETE FROM reporter_question WHERE kind = 'identify'")
    with op.batch_alter_table("reporter_question") as batch:
        batch.drop_constraint(op.f("ck_reporter_question_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_reporter_question_kind"), _KINDS.format(""))
