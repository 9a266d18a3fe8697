"""TOTP (RFC 6238) through the cryptography package, with replay protection."""

from __future__ import annotations

import base64
import secrets
import time

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor import InvalidToken
from cryptography.hazmat.primitives.twofactor.totp import TOTP

STEP = 30
DIGITS = 6


def new_secret() -> str:
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii")


def _totp(secret_b32: str) -> TOTP:
    return TOTP(base64.b32decode(secret_b32), DIGITS, SHA1(), STEP, enforce_key_length=False)  # noqa: S303


class ReusedCode(InvalidToken):
    """The code is right but its time step has already signed in once."""


def provisioning_uri(secret_b32: str, *, account: str, issuer: str = "Grievance Desk") -> str:
    # cryptography percent-encodes the label itself; encoding it here too made authenticator
    # apps show `admin%40example.org`.
    return _totp(secret_b32).get_provisioning_uri(account, issuer)


def code_at(secret_b32: str, at: float) -> str:
    return _totp(secret_b32).generate(int(at)).decode("ascii")


def verify(secret_b32: str, code: str, *, last_step: int | None, now: float | None = None) -> int:
    """Return the matched time step (±1 step of drift); raise InvalidToken otherwise.

    A step at or before `last_step` is refused with ReusedCode, so an overheard code cannot be
    reused and the person signing in learns why their right code was not taken."""
    now = time.time() if now is None else now
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isdigit():
        raise InvalidToken()
    totp = _totp(secret_b32)
    current = int(now) // STEP
    reused = False
    for step in (current, current - 1, current + 1):
        try:
            totp.verify(code.encode(), step * STEP)
        except InvalidToken:
            continue
        if last_step is not None and step <= last_step:
            reused = True
            continue
        return step
    raise ReusedCode() if reused else InvalidToken()
