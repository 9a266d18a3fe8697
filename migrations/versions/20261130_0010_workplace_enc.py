"""grievance_case.workplace_enc: the reporter's words about their workplace, encrypted

They can name a line, a team or a person, so they are content like the narrative. Rows
written before this revision keep their clear text in `workplace` until `grievance db
upgrade` (or `serve`) seals it, which needs the key file and so cannot happen in SQL here.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("grievance_case") as batch:
        batch.add_column(sa.Column("workplace_enc", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("grievance_case") as batch:
        batch.drop_column("workplace_enc")
