"""`grievance keys rotate`: a new key-encryption key, and every data key re-wrapped.

Online: the service keeps running. It re-reads the key file when it meets the new KEK
and wraps new data keys with it from then on; the loop below also catches keys that
were created under the old KEK while it ran.
"""

from __future__ import annotations

from sqlmodel import col, select

from app.audit.service import Actor, record
from app.identity.models import DataKey
from app.runtime import Runtime
from app.timeutil import utcnow

BATCH = 500


def rotate(runtime: Runtime, *, actor: Actor) -> tuple[str, int]:
    keyring = runtime.vault.keyring
    new_kek = keyring.add_primary_kek()
    total = 0
    while True:
        with runtime.session() as session:
            rows = session.exec(
                select(DataKey)
                .where(col(DataKey.wrapped).is_not(None), DataKey.kek_id != new_kek)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                record(
                    session,
                    actor=actor,
                    action="keys.rotated",
                    data={"kek": new_kek, "rewrapped": total},
                )
                session.commit()
                return new_kek, total
            for row in rows:
                assert row.wrapped is not None and row.kek_id is not None
                raw = keyring.unwrap(row.wrapped, kek_id=row.kek_id, key_id=str(row.id))
                row.kek_id, row.wrapped = keyring.wrap(raw, key_id=str(row.id))
                row.rotated_at = utcnow()
                session.add(row)
            session.commit()
            total += len(rows)
