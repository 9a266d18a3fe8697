"""Staff roles, apart from the tables so the command line can list them without loading
the database layer (`grievance --help` imports nothing heavy)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    admin = "admin"
    monitor = "monitor"
    buyer = "buyer"
    auditor = "auditor"
