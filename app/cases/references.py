"""Case references: four characters, a hyphen, four characters, from 0-9A-Z without the
letters people misread (I L O U). 40 bits, so collisions are rare and retried."""

from __future__ import annotations

import re
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_RE = re.compile(rf"^[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}$")
_MISREAD = str.maketrans({"I": "1", "L": "1", "O": "0", "U": "V"})


def new_reference() -> str:
    chars = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"{chars[:4]}-{chars[4:]}"


def normalise(text: str) -> str | None:
    """A reference as a person might type it (lower case, no hyphen, O for 0)."""
    compact = re.sub(r"[\s-]", "", text.upper()).translate(_MISREAD)
    if len(compact) != 8:
        return None
    candidate = f"{compact[:4]}-{compact[4:]}"
    return candidate if REFERENCE_RE.match(candidate) else None
