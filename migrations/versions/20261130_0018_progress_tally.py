"""buyers' progress figures kept by the database: workplace_progress, workplace_steps,
case_duration (with their triggers) and two partial indexes per workplace

A buyer's progress view read every case and step of their workplaces, so its time grew with
the cases. These tables hold what it needs, kept exact by triggers in the same transaction as
every write (ORM, Core or SQL), as case_tally is (migration 0014):

- `workplace_progress`: per workplace, status and category, the cases and how many were
  acknowledged, acknowledged by their deadline, closed, resolved by override;
- `workplace_steps`: per workplace, the steps not cancelled, agreed, done and confirmed
  (triggers on remediation_step, and on grievance_case when a case moves to another
  workplace, taking its steps along);
- `case_duration`: per linked case, microseconds to acknowledgement and to closure, whose
  index gives a workplace's median by position.

What depends on the clock (acknowledgement late and still missing, overdue) is counted
from two partial, covering indexes that hold only the cases still waiting.

A later migration that makes SQLite copy grievance_case or remediation_step (batch mode)
drops these triggers with the old table: it must call `create_progress_triggers()` too;
tests/stats/test_progress_tally.py checks they exist at head.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The SQL below is built from these constants only (S608 is silenced for that reason).


def _flag(condition: str) -> str:
    return f"CASE WHEN {condition} THEN 1 ELSE 0 END"


_CASE_COUNTS = ("cases", "acknowledged", "ack_in_time", "closed", "overridden")


def _case_flags(r: str) -> tuple[str, ...]:
    return (
        "1",
        _flag(f"{r}.acknowledged_at IS NOT NULL"),
        _flag(
            f"{r}.acknowledged_at IS NOT NULL AND {r}.ack_due_at IS NOT NULL "
            f"AND {r}.acknowledged_at <= {r}.ack_due_at"
        ),
        _flag(f"{r}.closed_at IS NOT NULL"),
        _flag(f"{r}.resolution_override IS NOT NULL"),
    )


_STEP_COUNTS = ("proposed", "agreed", "done", "verified")


def _step_flags(r: str) -> tuple[str, ...]:
    kept = f"{r}.status <> 'cancelled'"
    return (
        _flag(kept),
        _flag(f"{kept} AND {r}.worker_verdict = 'agreed'"),
        _flag(f"{r}.status = 'done'"),
        _flag(f"{kept} AND {r}.verification = 'confirmed'"),
    )


def _upsert(table: str, key: Sequence[str], counts: Sequence[str]) -> str:
    adds = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in counts)
    return f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {adds};"


def _progress_add(r: str) -> str:
    columns = ", ".join(("workplace_id", "status", "category", *_CASE_COUNTS))
    values = ", ".join((f"{r}.workplace_id", f"{r}.status", f"{r}.category", *_case_flags(r)))
    return (
        f"INSERT INTO workplace_progress ({columns}) SELECT {values} "
        f"WHERE {r}.workplace_id IS NOT NULL "
        + _upsert("workplace_progress", ("workplace_id", "status", "category"), _CASE_COUNTS)
    )


def _progress_remove(r: str) -> str:
    sets = ", ".join(f"{c} = {c} - {f}" for c, f in zip(_CASE_COUNTS, _case_flags(r), strict=True))
    return (
        f"UPDATE workplace_progress SET {sets} WHERE workplace_id = {r}.workplace_id "  # noqa: S608
        f"AND status = {r}.status AND category = {r}.category;"
    )


def _micros(column: str, sqlite: bool) -> str:
    """A timestamp in microseconds since the epoch (SQLite keeps `YYYY-MM-DD HH:MM:SS.ffffff`)."""
    if sqlite:
        return (
            f"(CAST(strftime('%s', substr({column}, 1, 19)) AS INTEGER) * 1000000 "
            f"+ CAST(substr({column} || '000000', 21, 6) AS INTEGER))"
        )
    return f"(EXTRACT(EPOCH FROM {column}) * 1000000)::bigint"


def _durations_add(r: str, sqlite: bool) -> str:
    out = []
    for kind, column in (("ack", "acknowledged_at"), ("close", "closed_at")):
        took = f"{_micros(f'{r}.{column}', sqlite)} - {_micros(f'{r}.created_at', sqlite)}"
        out.append(
            "INSERT INTO case_duration (case_id, kind, workplace_id, micros) "
            f"SELECT {r}.id, '{kind}', {r}.workplace_id, {took} "
            f"WHERE {r}.workplace_id IS NOT NULL AND {r}.{column} IS NOT NULL;"
        )
    return " ".join(out)


def _durations_remove(r: str) -> str:
    return f"DELETE FROM case_duration WHERE case_id = {r}.id;"  # noqa: S608


def _steps_add_of_case(r: str) -> str:
    """A case's steps, counted at its (new) workplace."""
    columns = ", ".join(("workplace_id", *_STEP_COUNTS))
    sums = ", ".join(f"COALESCE(SUM({f}), 0)" for f in _step_flags("s"))
    return (
        f"INSERT INTO workplace_steps ({columns}) SELECT {r}.workplace_id, {sums} "  # noqa: S608
        f"FROM remediation_step AS s WHERE s.case_id = {r}.id "
        f"AND {r}.workplace_id IS NOT NULL GROUP BY s.case_id "
        + _upsert("workplace_steps", ("workplace_id",), _STEP_COUNTS)
    )


def _steps_remove_of_case(r: str) -> str:
    sets = ", ".join(
        f"{c} = {c} - (SELECT COALESCE(SUM({f}), 0) FROM remediation_step AS s "  # noqa: S608
        f"WHERE s.case_id = {r}.id)"
        for c, f in zip(_STEP_COUNTS, _step_flags("s"), strict=True)
    )
    return f"UPDATE workplace_steps SET {sets} WHERE workplace_id = {r}.workplace_id;"  # noqa: S608


def _step_add(r: str) -> str:
    columns = ", ".join(("workplace_id", *_STEP_COUNTS))
    values = ", ".join(("c.workplace_id", *_step_flags(r)))
    return (
        f"INSERT INTO workplace_steps ({columns}) SELECT {values} "  # noqa: S608
        f"FROM grievance_case AS c WHERE c.id = {r}.case_id AND c.workplace_id IS NOT NULL "
        + _upsert("workplace_steps", ("workplace_id",), _STEP_COUNTS)
    )


def _step_remove(r: str) -> str:
    sets = ", ".join(f"{c} = {c} - {f}" for c, f in zip(_STEP_COUNTS, _step_flags(r), strict=True))
    return (
        f"UPDATE workplace_steps SET {sets} WHERE workplace_id = "  # noqa: S608
        f"(SELECT workplace_id FROM grievance_case WHERE id = {r}.case_id);"
    )


_PROGRESS_COLUMNS = (
    "workplace_id",
    "status",
    "category",
    "acknowledged_at",
    "ack_due_at",
    "closed_at",
    "resolution_override",
)
_DURATION_COLUMNS = ("workplace_id", "created_at", "acknowledged_at", "closed_at")
_STEP_COLUMNS = ("case_id", "status", "worker_verdict", "verification")


def _changed(columns: Sequence[str], ne: str) -> str:
    return " OR ".join(f"OLD.{c} IS {ne} NEW.{c}" for c in columns)


SQLITE_TRIGGERS = (
    "workplace_progress_insert",
    "workplace_progress_delete",
    "workplace_progress_update",
    "case_duration_update",
    "workplace_steps_move",
    "workplace_steps_insert",
    "workplace_steps_delete",
    "workplace_steps_update",
)
PG_TRIGGERS = (
    ("workplace_progress_insert_delete", "grievance_case"),
    ("workplace_progress_update", "grievance_case"),
    ("workplace_steps_insert_delete", "remediation_step"),
    ("workplace_steps_update", "remediation_step"),
)


def _create_sqlite() -> None:
    case, step = "grievance_case", "remediation_step"
    statements = {
        "workplace_progress_insert": (
            f"AFTER INSERT ON {case}",
            _progress_add("NEW") + " " + _durations_add("NEW", True),
        ),
        "workplace_progress_delete": (
            f"AFTER DELETE ON {case}",
            " ".join(
                (_progress_remove("OLD"), _durations_remove("OLD"), _steps_remove_of_case("OLD"))
            ),
        ),
        "workplace_progress_update": (
            f"AFTER UPDATE OF {', '.join(_PROGRESS_COLUMNS)} ON {case} "
            f"WHEN {_changed(_PROGRESS_COLUMNS, 'NOT')}",
            _progress_remove("OLD") + " " + _progress_add("NEW"),
        ),
        "case_duration_update": (
            f"AFTER UPDATE OF {', '.join(_DURATION_COLUMNS)} ON {case} "
            f"WHEN {_changed(_DURATION_COLUMNS, 'NOT')}",
            _durations_remove("OLD") + " " + _durations_add("NEW", True),
        ),
        "workplace_steps_move": (
            f"AFTER UPDATE OF workplace_id ON {case} WHEN {_changed(('workplace_id',), 'NOT')}",
            _steps_remove_of_case("OLD") + " " + _steps_add_of_case("NEW"),
        ),
        "workplace_steps_insert": (f"AFTER INSERT ON {step}", _step_add("NEW")),
        "workplace_steps_delete": (f"AFTER DELETE ON {step}", _step_remove("OLD")),
        "workplace_steps_update": (
            f"AFTER UPDATE OF {', '.join(_STEP_COLUMNS)} ON {step} "
            f"WHEN {_changed(_STEP_COLUMNS, 'NOT')}",
            _step_remove("OLD") + " " + _step_add("NEW"),
        ),
    }
    for name, (when, body) in statements.items():
        op.execute(f"CREATE TRIGGER {name} {when} BEGIN {body} END")


def _create_postgresql() -> None:
    progress_changed = _changed(_PROGRESS_COLUMNS, "DISTINCT FROM")
    durations_changed = _changed(_DURATION_COLUMNS, "DISTINCT FROM")
    op.execute(
        f"""
        CREATE FUNCTION workplace_progress_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                {_progress_remove("OLD")}
                {_durations_remove("OLD")}
                {_steps_remove_of_case("OLD")}
            ELSIF TG_OP = 'INSERT' THEN
                {_progress_add("NEW")}
                {_durations_add("NEW", False)}
            ELSE
                IF {progress_changed} THEN
                    {_progress_remove("OLD")}
                    {_progress_add("NEW")}
                END IF;
                IF {durations_changed} THEN
                    {_durations_remove("OLD")}
                    {_durations_add("NEW", False)}
                END IF;
                IF OLD.workplace_id IS DISTINCT FROM NEW.workplace_id THEN
                    {_steps_remove_of_case("OLD")}
                    {_steps_add_of_case("NEW")}
                END IF;
            END IF;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        """
        CREATE FUNCTION workplace_steps_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP IN ('UPDATE', 'DELETE') THEN
                """
        + _step_remove("OLD")
        + """
            END IF;
            IF TG_OP IN ('INSERT', 'UPDATE') THEN
                """
        + _step_add("NEW")
        + """
            END IF;
            RETURN NULL;
        END $$
        """
    )
    case_columns = sorted({*_PROGRESS_COLUMNS, *_DURATION_COLUMNS})
    op.execute(
        "CREATE TRIGGER workplace_progress_insert_delete AFTER INSERT OR DELETE ON grievance_case "
        "FOR EACH ROW EXECUTE FUNCTION workplace_progress_change()"
    )
    op.execute(
        f"CREATE TRIGGER workplace_progress_update AFTER UPDATE OF {', '.join(case_columns)} "
        f"ON grievance_case FOR EACH ROW WHEN ({_changed(case_columns, 'DISTINCT FROM')}) "
        "EXECUTE FUNCTION workplace_progress_change()"
    )
    op.execute(
        "CREATE TRIGGER workplace_steps_insert_delete AFTER INSERT OR DELETE ON remediation_step "
        "FOR EACH ROW EXECUTE FUNCTION workplace_steps_change()"
    )
    op.execute(
        f"CREATE TRIGGER workplace_steps_update AFTER UPDATE OF {', '.join(_STEP_COLUMNS)} "
        f"ON remediation_step FOR EACH ROW WHEN ({_changed(_STEP_COLUMNS, 'DISTINCT FROM')}) "
        "EXECUTE FUNCTION workplace_steps_change()"
    )


def create_progress_triggers() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _create_sqlite()
    else:
        _create_postgresql()


def drop_progress_triggers() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        return
    for name, table in PG_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    op.execute("DROP FUNCTION IF EXISTS workplace_progress_change()")
    op.execute("DROP FUNCTION IF EXISTS workplace_steps_change()")


def _fill() -> None:
    """The counts of the cases and steps already there."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    sums = ", ".join(f"SUM({f})" for f in _case_flags("c"))
    op.execute(
        f"INSERT INTO workplace_progress (workplace_id, status, category, "  # noqa: S608
        f"{', '.join(_CASE_COUNTS)}) SELECT c.workplace_id, c.status, c.category, {sums} "
        "FROM grievance_case AS c WHERE c.workplace_id IS NOT NULL "
        "GROUP BY c.workplace_id, c.status, c.category"
    )
    steps = ", ".join(f"SUM({f})" for f in _step_flags("s"))
    op.execute(
        f"INSERT INTO workplace_steps (workplace_id, {', '.join(_STEP_COUNTS)}) "  # noqa: S608
        f"SELECT c.workplace_id, {steps} FROM remediation_step AS s "
        "JOIN grievance_case AS c ON c.id = s.case_id WHERE c.workplace_id IS NOT NULL "
        "GROUP BY c.workplace_id"
    )
    for kind, column in (("ack", "acknowledged_at"), ("close", "closed_at")):
        took = f"{_micros(f'c.{column}', sqlite)} - {_micros('c.created_at', sqlite)}"
        op.execute(
            "INSERT INTO case_duration (case_id, kind, workplace_id, micros) "  # noqa: S608
            f"SELECT c.id, '{kind}', c.workplace_id, {took} FROM grievance_case AS c "
            f"WHERE c.workplace_id IS NOT NULL AND c.{column} IS NOT NULL"
        )


INDEXES = (
    (
        "ix_grievance_case_workplace_ack_due",
        ["workplace_id", "ack_due_at", "status", "acknowledged_at"],
        "acknowledged_at IS NULL",
    ),
    (
        "ix_grievance_case_workplace_feedback_due",
        [
            "workplace_id",
            "feedback_due_at",
            "status",
            "acknowledged_at",
            "ack_due_at",
            "feedback_given_at",
        ],
        "feedback_given_at IS NULL",
    ),
)


def upgrade() -> None:
    op.create_table(
        "workplace_progress",
        sa.Column("workplace_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        *(sa.Column(c, sa.Integer(), nullable=False) for c in _CASE_COUNTS),
        sa.PrimaryKeyConstraint(
            "workplace_id", "status", "category", name=op.f("pk_workplace_progress")
        ),
    )
    op.create_table(
        "workplace_steps",
        sa.Column("workplace_id", sa.Uuid(), nullable=False),
        *(sa.Column(c, sa.Integer(), nullable=False) for c in _STEP_COUNTS),
        sa.PrimaryKeyConstraint("workplace_id", name=op.f("pk_workplace_steps")),
    )
    op.create_table(
        "case_duration",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("workplace_id", sa.Uuid(), nullable=False),
        sa.Column("micros", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "kind", name=op.f("pk_case_duration")),
    )
    op.create_index("ix_case_duration_place", "case_duration", ["workplace_id", "kind", "micros"])
    for name, columns, where in INDEXES:
        op.create_index(
            name,
            "grievance_case",
            columns,
            unique=False,
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )
    _fill()
    create_progress_triggers()


def downgrade() -> None:
    drop_progress_triggers()
    for name, _columns, _where in INDEXES:
        op.drop_index(name, table_name="grievance_case")
    op.drop_index("ix_case_duration_place", table_name="case_duration")
    op.drop_table("case_duration")
    op.drop_table("workplace_steps")
    op.drop_table("workplace_progress")
