"""Case counts kept up to date by the database itself, so figures over a million cases are
read from a few thousand rows instead of counted from every case each time."""

from __future__ import annotations

import uuid

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
