"""Receipt codes: 16 characters from the reference alphabet (80 bits), shown to the reporter
once as XXXX-XXXX-XXXX-XXXX and stored only as a slow salted hash."""

from __future__ import annotations

import re
import secrets

from app.cases.references import ALPHABET

LENGTH = 16
_MISREAD = str.maketrans({"I": "1", "L": "1", "O": "0", "U": "V"})


def new_receipt_code() -> str:
    return group("".join(secrets.choice(ALPHABET) for _ in range(LENGTH)))


def group(compact: str) -> str:
    return "-".join(compact[i : i + 4] for i in range(0, LENGTH, 4))


def normalise(text: str) -> str | None:
    """A code as a person might type it (lower case, spaces, O for 0) in canonical form,
    or None when it cannot be a receipt code."""
    compact = re.sub(r"[\s-]", "", text.upper()).translate(_MISREAD)
    if len(compact) != LENGTH or any(ch not in ALPHABET for ch in compact):
        return None
    return group(compact)
