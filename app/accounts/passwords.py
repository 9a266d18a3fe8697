"""Password rules and hashing (Argon2id through argon2-cffi)."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.errors import Text

MIN_LENGTH = 12
MAX_LENGTH = 1024
_hasher = PasswordHasher()  # Argon2id with the library's RFC 9106 low-memory profile


@cache
def _dummy_hash() -> str:
    """Checked so that an unknown e-mail costs the same time as a wrong password; made on
    first use, not at import (it is a full Argon2 hash: every CLI start would pay it)."""
    return _hasher.hash("grievance-desk-timing-equaliser")


COMMON = frozenset(
    {
        "password1234",
        "123456789012",
        "qwertyuiopas",
        "passwordpassword",
        "adminadminadmin",
        "iloveyou1234",
        "letmein12345",
        "welcome12345",
        "changeme1234",
        "111111111111",
        "abcdefghijkl",
        "qwerty123456",
        "password123!",
        "aaaaaaaaaaaa",
    }
)


class WeakPasswordError(ValueError):
    def __init__(self, text: Text) -> None:
        super().__init__(str(text))
        self.text = text


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPasswordError(
            Text("password must be at least %(num)s characters", {"num": MIN_LENGTH})
        )
    if len(password) > MAX_LENGTH:
        raise WeakPasswordError(
            Text("password must be at most %(num)s characters", {"num": MAX_LENGTH})
        )
    if password.lower() in COMMON or len(set(password)) < 4:
        raise WeakPasswordError(Text("password is too easy to guess; use a longer passphrase"))


def hash_password(password: str) -> str:
    check_strength(password)
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return (
            _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
