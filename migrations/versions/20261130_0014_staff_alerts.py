"""staff alerts: staff_alert, alert_cursor, staff_user.alert_email, e-mail in the outbox

`staff_alert` is the console's alerts inbox, one row per staff member per audited event
that needs them (unique on user and event), fanned out by a worker job that keeps its place
in `alert_cursor`. Alert e-mails go through the outbox like every other message: an
`email` item names a staff member (`user_id`) instead of a reporter and stores no body
(it is written from its alerts, which hold no case content, when it is sent), so
`reporter_id` and `body_enc` become nullable.

Revision ID: 0014
Revises: 0011
Create Date: 2026-11-30 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db

revision: str = "0014"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("staff_user") as batch:
        batch.add_column(
            sa.Column(
                "alert_email",
                sqlmodel.sql.sqltypes.AutoString(length=16),
                nullable=False,
                server_default="immediate",
            )
        )
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column("reporter_id", existing_type=sa.Uuid(), nullable=True)
        batch.alter_column("body_enc", existing_type=sa.LargeBinary(), nullable=True)
        batch.add_column(sa.Column("user_id", sa.Uuid(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_outbox_user_id_staff_user"), "staff_user", ["user_id"], ["id"]
        )
        batch.create_index(batch.f("ix_outbox_user_id"), ["user_id"], unique=False)
    op.create_table(
        "alert_cursor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_cursor")),
    )
    # Start after the events already recorded: an upgraded service alerts about what
    # happens from now on, not its whole history.
    op.execute(
        "INSERT INTO alert_cursor (id, seq) "
        "SELECT 1, COALESCE((SELECT MAX(seq) FROM audit_event), 0)"
    )
    op.create_table(
        "staff_alert",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("event_seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("email_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["grievance_case.id"], name=op.f("fk_staff_alert_case_id_grievance_case")
        ),
        sa.ForeignKeyConstraint(
            ["email_id"], ["outbox.id"], name=op.f("fk_staff_alert_email_id_outbox")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["staff_user.id"], name=op.f("fk_staff_alert_user_id_staff_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_alert")),
        sa.UniqueConstraint("user_id", "event_seq", name=op.f("uq_staff_alert_user_id_event_seq")),
    )
    op.create_index(op.f("ix_staff_alert_case_id"), "staff_alert", ["case_id"], unique=False)
    op.create_index(op.f("ix_staff_alert_email_id"), "staff_alert", ["email_id"], unique=False)
    op.create_index("ix_staff_alert_user_read", "staff_alert", ["user_id", "read_at"])


def downgrade() -> None:
    op.drop_index("ix_staff_alert_user_read", table_name="staff_alert")
    op.drop_index(op.f("ix_staff_alert_email_id"), table_name="staff_alert")
    op.drop_index(op.f("ix_staff_alert_case_id"), table_name="staff_alert")
    op.drop_table("staff_alert")
    op.drop_table("alert_cursor")
    op.execute("DELETE FROM outbox WHERE channel = 'email'")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index(batch.f("ix_outbox_user_id"))
        batch.drop_constraint(batch.f("fk_outbox_user_id_staff_user"), type_="foreignkey")
        batch.drop_column("user_id")
        batch.alter_column("body_enc", existing_type=sa.LargeBinary(), nullable=False)
        batch.alter_column("reporter_id", existing_type=sa.Uuid(), nullable=False)
    with op.batch_alter_table("staff_user") as batch:
        batch.drop_column("alert_email")
