"""worker-driven remediation: the worker's text, verdict, reason and verification on a step;
questions put to the reporter; resolution overrides, satisfaction; partners' reopen period

The step's `reporter_response` ('agree'/'disagree') becomes `worker_verdict`
('agreed'/'disagreed'/'unanswered') and `reporter_comment_enc` becomes `worker_reason_enc`
(the same ciphertext: its associated data names the column `reporter_comment`, which the
code keeps using for it).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 07:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_VERDICT = "worker_verdict IS NULL OR worker_verdict IN ('agreed', 'disagreed', 'unanswered')"
_VERIFICATION = (
    "verification IS NULL OR verification IN ('confirmed', 'not_confirmed', 'unanswered')"
)


def upgrade() -> None:
    with op.batch_alter_table("remediation_step") as batch:
        batch.drop_constraint(op.f("ck_remediation_step_reporter_response"), type_="check")
        batch.alter_column("reporter_response", new_column_name="worker_verdict")
        batch.alter_column("reporter_comment_enc", new_column_name="worker_reason_enc")
        batch.add_column(sa.Column("worker_text_enc", sa.LargeBinary(), nullable=True))
        batch.add_column(
            sa.Column("verification", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
        )
        batch.add_column(sa.Column("verification_reason_enc", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("proposed_at", app.db.UTCDateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE remediation_step SET worker_verdict = CASE worker_verdict "
        "WHEN 'agree' THEN 'agreed' WHEN 'disagree' THEN 'disagreed' END"
    )
    with op.batch_alter_table("remediation_step") as batch:
        batch.create_check_constraint(op.f("ck_remediation_step_worker_verdict"), _VERDICT)
        batch.create_check_constraint(op.f("ck_remediation_step_verification"), _VERIFICATION)

    with op.batch_alter_table("grievance_case") as batch:
        batch.add_column(sa.Column("resolved_at", app.db.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column(
                "resolution_override", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True
            )
        )
        batch.add_column(
            sa.Column(
                "resolution_override_reason",
                sqlmodel.sql.sqltypes.AutoString(length=300),
                nullable=True,
            )
        )
        batch.add_column(sa.Column("satisfaction", sa.Integer(), nullable=True))

    with op.batch_alter_table("organisation") as batch:
        batch.add_column(
            sa.Column("reopen_days", sa.Integer(), nullable=False, server_default="90")
        )

    op.create_table(
        "reporter_question",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("step_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("reminders", sa.Integer(), nullable=False),
        sa.Column("reasked", sa.Boolean(), nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_sent_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('consent', 'verification', 'satisfaction')",
            name=op.f("ck_reporter_question_kind"),
        ),
        sa.CheckConstraint(
            "state IN ('open', 'reason', 'answered', 'unanswered', 'withdrawn')",
            name=op.f("ck_reporter_question_state"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["grievance_case.id"],
            name=op.f("fk_reporter_question_case_id_grievance_case"),
        ),
        sa.ForeignKeyConstraint(
            ["step_id"],
            ["remediation_step.id"],
            name=op.f("fk_reporter_question_step_id_remediation_step"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reporter_question")),
    )
    op.create_index(
        "ix_reporter_question_case_state", "reporter_question", ["case_id", "state"], unique=False
    )
    op.create_index(
        "ix_reporter_question_state_sent",
        "reporter_question",
        ["state", "last_sent_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_reporter_question_state_sent", table_name="reporter_question")
    op.drop_index("ix_reporter_question_case_state", table_name="reporter_question")
    op.drop_table("reporter_question")
    with op.batch_alter_table("organisation") as batch:
        batch.drop_column("reopen_days")
    with op.batch_alter_table("grievance_case") as batch:
        batch.drop_column("satisfaction")
        batch.drop_column("resolution_override_reason")
        batch.drop_column("resolution_override")
        batch.drop_column("resolved_at")
    with op.batch_alter_table("remediation_step") as batch:
        batch.drop_constraint(op.f("ck_remediation_step_verification"), type_="check")
        batch.drop_constraint(op.f("ck_remediation_step_worker_verdict"), type_="check")
        batch.drop_column("proposed_at")
        batch.drop_column("verification_reason_enc")
        batch.drop_column("verification")
        batch.drop_column("worker_text_enc")
        batch.alter_column("worker_reason_enc", new_column_name="reporter_comment_enc")
        batch.alter_column("worker_verdict", new_column_name="reporter_response")
    op.execute(
        "UPDATE remediation_step SET reporter_response = CASE reporter_response "
        "WHEN 'agreed' THEN 'agree' WHEN 'disagreed' THEN 'disagree' END"
    )
    with op.batch_alter_table("remediation_step") as batch:
        batch.create_check_constraint(
            op.f("ck_remediation_step_reporter_response"),
            "reporter_response IS NULL OR reporter_response IN ('agree', 'disagree')",
        )
