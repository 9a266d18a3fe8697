"""Failed sign-ins for e-mail addresses that have no account, slowed down exactly like
real accounts, so the lock-out answer (429 or 401) says nothing about which exist.

Kept in memory under a per-process keyed hash: nothing is stored about addresses that
are not staff, and an address cannot be read back from the table.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta

MAX_ADDRESSES = 50_000


class Ghosts:
    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._seen: OrderedDict[str, tuple[int, list[datetime], datetime | None]] = OrderedDict()
        self._lock = threading.Lock()

    def _id(self, email: str) -> str:
        return hmac.new(self._key, email.encode(), hashlib.sha256).hexdigest()

    def locked_until(self, email: str) -> datetime | None:
        with self._lock:
            found = self._seen.get(self._id(email))
        return found[2] if found else None

    def fail(
        self, email: str, now: datetime, lock_for: Callable[[int, int], datetime | None]
    ) -> None:
        """Count a failure; `lock_for(failures, failures_in_the_last_hour)` is the same rule
        real accounts follow."""
        key = self._id(email)
        with self._lock:
            failures, times, _ = self._seen.pop(key, (0, [], None))
            times = [t for t in times if t > now - timedelta(hours=1)] + [now]
            self._seen[key] = (failures + 1, times, lock_for(failures + 1, len(times)))
            while len(self._seen) > MAX_ADDRESSES:
                self._seen.popitem(last=False)


ghosts = Ghosts()
