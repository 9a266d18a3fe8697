"""staff alerts (staff_alert, alert_cursor, staff_user.alert_email, e-mail in the outbox);
case_tally, the case counts behind the figures, kept by triggers

`staff_alert` is the console's alerts inbox, one row per staff member per audited event
that needs them (unique on user and event), fanned out by a worker job that keeps its place
in `alert_cursor`. Alert e-mails go through the outbox like every other message: an
`email` item names a staff member (`user_id`) instead of a reporter and stores no body
(it is written from its alerts, which hold no case content, when it is sent), so
`reporter_id` and `body_enc` become nullable.

`case_tally` counts cases per country, registered workplace, category and month of opening,
so the public and buyers' figures read a few thousand rows instead of counting a million
cases. Triggers on grievance_case keep it exact on every insert, delete and change of those
columns, whatever writes them (ORM, Core or SQL). A later migration that makes SQLite copy
grievance_case (batch mode) drops the triggers with the old table: it must create them again
(`create_tally_triggers`); tests/stats/test_tally.py checks they exist at head.

Revision ID: 0014
Revises: 0015
Create Date: 2026-11-30 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db

revision: str = "0014"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# -- the case_tally triggers (also used by later migrations that copy grievance_case) ----
# The SQL below is built from these constants only (S608 is silenced for that reason).
# Each case counts twice: under its workplace (the nil id when it has none), for buyers,
# and under ALL, for the public figures, which then read a few hundred rows.

_SQLITE_IDS = {"nil": "0" * 32, "all": "0" * 31 + "1"}
_PG_IDS = {
    "nil": "'00000000-0000-0000-0000-000000000000'::uuid",
    "all": "'00000000-0000-0000-0000-000000000001'::uuid",
}
_SQLITE_REST = (
    "COALESCE({r}.country, 'ZZ'), {r}.category, "
    "CAST(strftime('%Y', {r}.created_at) AS INTEGER), "
    "CAST(strftime('%m', {r}.created_at) AS INTEGER)"
)
_PG_REST = (
    "COALESCE({r}.country, 'ZZ'), {r}.category, "
    "EXTRACT(year FROM {r}.created_at AT TIME ZONE 'UTC')::int, "
    "EXTRACT(month FROM {r}.created_at AT TIME ZONE 'UTC')::int"
)
_COLUMNS = "(workplace_id, country, category, year, month)"
_CHANGED = (
    "OLD.country IS {ne} NEW.country OR OLD.workplace_id IS {ne} NEW.workplace_id "
    "OR OLD.category IS {ne} NEW.category OR OLD.created_at IS {ne} NEW.created_at"
)


def _keys(row: str, sqlite: bool) -> tuple[str, str]:
    """The case's two keys: under its workplace, and under ALL."""
    if sqlite:
        rest = _SQLITE_REST.format(r=row)
        nil, every = f"'{_SQLITE_IDS['nil']}'", f"'{_SQLITE_IDS['all']}'"
    else:
        rest = _PG_REST.format(r=row)
        nil, every = _PG_IDS["nil"], _PG_IDS["all"]
    return f"COALESCE({row}.workplace_id, {nil}), {rest}", f"{every}, {rest}"


def _add(row: str, sqlite: bool) -> str:
    values = ", ".join(f"({key}, 1)" for key in _keys(row, sqlite))
    return (
        f"INSERT INTO case_tally {_COLUMNS[:-1]}, cases) VALUES {values} "  # noqa: S608
        f"ON CONFLICT {_COLUMNS} DO UPDATE SET cases = case_tally.cases + 1;"
    )


def _remove(row: str, sqlite: bool) -> str:
    keys = ", ".join(f"({key})" for key in _keys(row, sqlite))
    return f"UPDATE case_tally SET cases = cases - 1 WHERE {_COLUMNS} IN ({keys});"  # noqa: S608


def create_tally_triggers() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TRIGGER case_tally_insert AFTER INSERT ON grievance_case "
            f"BEGIN {_add('NEW', True)} END"
        )
        op.execute(
            "CREATE TRIGGER case_tally_delete AFTER DELETE ON grievance_case "
            f"BEGIN {_remove('OLD', True)} END"
        )
        op.execute(
            "CREATE TRIGGER case_tally_update AFTER UPDATE OF country, workplace_id, category, "
            f"created_at ON grievance_case WHEN {_CHANGED.format(ne='NOT')} "
            f"BEGIN {_remove('OLD', True)} {_add('NEW', True)} END"
        )
        return
    function = f"""
        CREATE FUNCTION case_tally_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP IN ('UPDATE', 'DELETE') THEN
                {_remove("OLD", False)}
            END IF;
            IF TG_OP IN ('INSERT', 'UPDATE') THEN
                {_add("NEW", False)}
            END IF;
            RETURN NULL;
        END $$
        """
    op.execute(function)
    op.execute(
        "CREATE TRIGGER case_tally_insert_delete AFTER INSERT OR DELETE ON grievance_case "
        "FOR EACH ROW EXECUTE FUNCTION case_tally_change()"
    )
    op.execute(
        "CREATE TRIGGER case_tally_update AFTER UPDATE OF country, workplace_id, category, "
        f"created_at ON grievance_case FOR EACH ROW WHEN ({_CHANGED.format(ne='DISTINCT FROM')}) "
        "EXECUTE FUNCTION case_tally_change()"
    )


def drop_tally_triggers() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("case_tally_insert", "case_tally_delete", "case_tally_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        return
    op.execute("DROP TRIGGER IF EXISTS case_tally_update ON grievance_case")
    op.execute("DROP TRIGGER IF EXISTS case_tally_insert_delete ON grievance_case")
    op.execute("DROP FUNCTION IF EXISTS case_tally_change()")


def _create_tally() -> None:
    op.create_table(
        "case_tally",
        sa.Column("workplace_id", sa.Uuid(), nullable=False),
        sa.Column("country", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "workplace_id", "country", "category", "year", "month", name=op.f("pk_case_tally")
        ),
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    for key in _keys("c", sqlite):
        op.execute(
            f"INSERT INTO case_tally {_COLUMNS[:-1]}, cases) "  # noqa: S608
            f"SELECT {key}, count(*) FROM grievance_case AS c GROUP BY 1, 2, 3, 4, 5"
        )
    create_tally_triggers()


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
    _create_tally()


def downgrade() -> None:
    drop_tally_triggers()
    op.drop_table("case_tally")
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
