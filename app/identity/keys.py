"""The key file: key-encryption keys and the keys for blind indexes and receipts.

The file never enters the database. It holds several key-encryption keys (KEKs) so that
`grievance keys rotate` can add one and re-wrap data keys while the service runs; a
running process re-reads the file when it meets a KEK it does not know.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
import stat
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT = "grievance-desk-keys/1"
KEY_BYTES = 32


class KeyFileError(RuntimeError):
    """The key file is missing, unreadable or malformed."""


class UnwrapError(RuntimeError):
    """A wrapped data key does not open with the key file's KEKs."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any, what: str, path: Path) -> bytes:
    if not isinstance(text, str):
        raise KeyFileError(f"key file {path}: {what} is not a base64 string")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise KeyFileError(f"key file {path}: {what} is not valid base64") from exc
    if len(raw) != KEY_BYTES:
        raise KeyFileError(f"key file {path}: {what} must be {KEY_BYTES} bytes")
    return raw


def _stamp(path: Path) -> tuple[int, int]:
    """Identifies one version of the file: a rotation replaces it (new inode)."""
    info = path.stat()
    return info.st_ino, info.st_mtime_ns


def _new_kek_id() -> str:
    return f"kek-{datetime.now(UTC):%Y%m%d%H%M%S}-{secrets.token_hex(3)}"


@dataclass
class KeyMaterial:
    primary: str
    keks: dict[str, bytes]
    blind_index_key: bytes
    receipt_salt: bytes
    session_key: bytes

    def to_json(self) -> str:
        body = {
            "format": FORMAT,
            "primary": self.primary,
            "keks": {kid: _b64(k) for kid, k in self.keks.items()},
            "blind_index_key": _b64(self.blind_index_key),
            "receipt_salt": _b64(self.receipt_salt),
            "session_key": _b64(self.session_key),
        }
        return json.dumps(body, indent=2) + "\n"

    @classmethod
    def generate(cls) -> KeyMaterial:
        kid = _new_kek_id()
        return cls(
            primary=kid,
            keks={kid: secrets.token_bytes(KEY_BYTES)},
            blind_index_key=secrets.token_bytes(KEY_BYTES),
            receipt_salt=secrets.token_bytes(KEY_BYTES),
            session_key=secrets.token_bytes(KEY_BYTES),
        )

    @classmethod
    def parse(cls, raw: bytes, path: Path) -> KeyMaterial:
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise KeyFileError(f"key file {path} is not valid JSON") from exc
        if not isinstance(body, dict) or body.get("format") != FORMAT:
            raise KeyFileError(f"key file {path} is not a {FORMAT} key file")
        keks_raw = body.get("keks")
        if not isinstance(keks_raw, dict) or not keks_raw:
            raise KeyFileError(f"key file {path} holds no key-encryption key")
        keks = {str(kid): _unb64(v, f"KEK {kid}", path) for kid, v in keks_raw.items()}
        primary = body.get("primary")
        if primary not in keks:
            raise KeyFileError(f"key file {path}: primary KEK {primary!r} is not in the file")
        return cls(
            primary=str(primary),
            keks=keks,
            blind_index_key=_unb64(body.get("blind_index_key"), "blind_index_key", path),
            receipt_salt=_unb64(body.get("receipt_salt"), "receipt_salt", path),
            session_key=_unb64(body.get("session_key"), "session_key", path),
        )


def _write_new_file(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _replace_file(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    _write_new_file(tmp, text)
    os.replace(tmp, path)


@dataclass
class KeyRing:
    """Key material loaded from one file, reloaded when the file changes."""

    path: Path
    material: KeyMaterial
    generated: bool = False
    _stamp: tuple[int, int] = (0, 0)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def load(cls, path: Path, *, create: bool) -> KeyRing:
        """Open the key file; create it (0600, folder 0700) only when `create` is true."""
        generated = False
        if not path.exists():
            if not create:
                raise KeyFileError(f"key file {path} does not exist")
            path.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(path.parent, 0o700)
            try:
                _write_new_file(path, KeyMaterial.generate().to_json())
                generated = True
            except FileExistsError:
                pass  # another process created it first; use theirs
        try:
            raw = path.read_bytes()
            stamp = _stamp(path)
        except OSError as exc:
            raise KeyFileError(f"key file {path} cannot be read: {exc.strerror}") from exc
        ring = cls(path=path, material=KeyMaterial.parse(raw, path), generated=generated)
        ring._stamp = stamp
        return ring

    def is_private(self) -> bool:
        mode = self.path.stat().st_mode
        return not mode & (stat.S_IRWXG | stat.S_IRWXO)

    def refresh(self) -> None:
        """Re-read the file if it changed since it was loaded (after a rotation)."""
        try:
            stamp = _stamp(self.path)
        except OSError:
            return
        if stamp == self._stamp:
            return
        with self._lock:
            material = KeyMaterial.parse(self.path.read_bytes(), self.path)
            self.material = material
            self._stamp = stamp

    @property
    def primary_id(self) -> str:
        return self.material.primary

    def wrap(self, data_key: bytes, *, key_id: str) -> tuple[str, bytes]:
        self.refresh()
        kek_id = self.material.primary
        nonce = secrets.token_bytes(12)
        blob = nonce + AESGCM(self.material.keks[kek_id]).encrypt(
            nonce, data_key, f"datakey|{key_id}".encode()
        )
        return kek_id, blob

    def unwrap(self, blob: bytes, *, kek_id: str, key_id: str) -> bytes:
        if kek_id not in self.material.keks:
            self.refresh()
        kek = self.material.keks.get(kek_id)
        if kek is None:
            raise UnwrapError(f"data key {key_id} needs {kek_id}, which the key file lacks")
        try:
            return AESGCM(kek).decrypt(blob[:12], blob[12:], f"datakey|{key_id}".encode())
        except InvalidTag as exc:
            raise UnwrapError(f"data key {key_id} does not open with {kek_id}") from exc

    def add_primary_kek(self) -> str:
        """Add a new KEK to the file and make it primary; older KEKs stay for unwrapping."""
        with self._lock:
            material = KeyMaterial.parse(self.path.read_bytes(), self.path)
            kid = _new_kek_id()
            material.keks[kid] = secrets.token_bytes(KEY_BYTES)
            material.primary = kid
            _replace_file(self.path, material.to_json())
            self.material = material
            self._stamp = _stamp(self.path)
            return kid
