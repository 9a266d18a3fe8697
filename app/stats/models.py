"""Case counts kept up to date by the database itself, so figures over a million cases are
read from a few thousand rows instead of counted from every case each time."""

from __future__ import annotations

import uuid

from sqlalchemy import BigInteger, Index
from sqlmodel import Field, SQLModel

# A case with no registered workplace is counted under this id (a key column cannot be null),
# and every case once more under ALL_CASES, which the public figures read.
NO_WORKPLACE = uuid.UUID(int=0)
ALL_CASES = uuid.UUID(int=1)


class CaseTally(SQLModel, table=True):
    """How many cases were opened in each month per registered workplace (and ALL_CASES),
    country (ZZ: unknown) and category. Triggers on grievance_case (migration 0014) keep it exact on
    every insert, delete and change of those columns, whatever code or SQL makes it; the
    figures read it (app/stats/figures.py) and a test compares it with a fresh count."""

    __tablename__ = "case_tally"

    workplace_id: uuid.UUID = Field(primary_key=True)
    country: str = Field(max_length=2, primary_key=True)
    category: str = Field(max_length=32, primary_key=True)
    year: int = Field(primary_key=True)
    month: int = Field(primary_key=True)
    cases: int = 0


class WorkplaceProgress(SQLModel, table=True):
    """Per registered workplace, status and category: how many cases, and how many of
    them were acknowledged, acknowledged by their deadline, closed, resolved by override.
    Kept exact by triggers on grievance_case (migration 0018), like case_tally, so a
    buyer's progress figures read a few dozen rows whatever the number of cases."""

    __tablename__ = "workplace_progress"

    workplace_id: uuid.UUID = Field(primary_key=True)
    status: str = Field(max_length=16, primary_key=True)
    category: str = Field(max_length=32, primary_key=True)
    cases: int = 0
    acknowledged: int = 0
    ack_in_time: int = 0
    closed: int = 0
    overridden: int = 0


class WorkplaceSteps(SQLModel, table=True):
    """Remediation steps (not cancelled) of the cases at each workplace: proposed, agreed
    by the worker, done, confirmed by the worker. Triggers on remediation_step and on a
    case's workplace link keep it exact (migration 0018)."""

    __tablename__ = "workplace_steps"

    workplace_id: uuid.UUID = Field(primary_key=True)
    proposed: int = 0
    agreed: int = 0
    done: int = 0
    verified: int = 0


class CaseDuration(SQLModel, table=True):
    """How long a case linked to a workplace took to be acknowledged (`ack`) and closed
    (`close`), in microseconds, kept by triggers on grievance_case (migration 0018). The
    index gives a workplace's median by position, without reading its cases."""

    __tablename__ = "case_duration"
    __table_args__ = (Index("ix_case_duration_place", "workplace_id", "kind", "micros"),)

    # No foreign key: the row goes with its case (the delete trigger), and a key checked
    # before the trigger runs would refuse deleting the case.
    case_id: uuid.UUID = Field(primary_key=True)
    kind: str = Field(max_length=8, primary_key=True)
    workplace_id: uuid.UUID
    micros: int = Field(sa_type=BigInteger)
