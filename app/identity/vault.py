"""Envelope encryption of fields, blind indexes and receipt hashes.

Every encrypted field is AES-256-GCM under a data key of its own owner (a reporter or a
case), with associated data naming the table, row, field and data key: a ciphertext moved
to another row or field fails to open instead of showing the wrong person's words.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlmodel import Session, select

from app.identity.keys import KeyRing
from app.identity.models import DataKey
from app.timeutil import utcnow

VERSION = b"\x01"
CACHE_SECONDS = 60.0


class DecryptionError(RuntimeError):
    """A ciphertext is corrupt, moved, or its key is gone. Never returns garbage."""


class KeyShreddedError(DecryptionError):
    """The data key was deliberately destroyed (crypto-shredding)."""


@dataclass
class Vault:
    keyring: KeyRing
    _cache: dict[uuid.UUID, tuple[float, bytes]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # data keys -------------------------------------------------------------------------

    def new_data_key(self, session: Session, *, purpose: str) -> DataKey:
        row = DataKey(**self.make_data_key(purpose=purpose))
        session.add(row)
        return row

    def make_data_key(self, *, purpose: str) -> dict[str, Any]:
        """A new wrapped data key, usable at once: the values of its `data_key` row, which
        the caller stores."""
        key_id = uuid.uuid4()
        raw = secrets.token_bytes(32)
        kek_id, wrapped = self.keyring.wrap(raw, key_id=str(key_id))
        with self._lock:
            self._cache[key_id] = (time.monotonic(), raw)
        return {
            "id": key_id,
            "purpose": purpose,
            "kek_id": kek_id,
            "wrapped": wrapped,
            "created_at": utcnow(),
            "rotated_at": None,
            "shredded_at": None,
        }

    def _data_key(self, session: Session, key_id: uuid.UUID) -> bytes:
        now = time.monotonic()
        cached = self._cache.get(key_id)
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        row = session.exec(select(DataKey).where(DataKey.id == key_id)).first()
        if row is None:
            raise DecryptionError(f"data key {key_id} does not exist")
        if row.wrapped is None or row.kek_id is None:
            raise KeyShreddedError(f"data key {key_id} was shredded")
        raw = self.keyring.unwrap(row.wrapped, kek_id=row.kek_id, key_id=str(key_id))
        with self._lock:
            if len(self._cache) > 4096:
                self._cache.clear()
            self._cache[key_id] = (now, raw)
        return raw

    def shred(self, session: Session, key_id: uuid.UUID) -> None:
        """Destroy a data key: everything encrypted under it becomes unrecoverable."""
        row = session.get(DataKey, key_id)
        if row is not None:
            row.wrapped = None
            row.kek_id = None
            row.shredded_at = utcnow()
            session.add(row)
        with self._lock:
            self._cache.pop(key_id, None)

    def forget_cached_keys(self) -> None:
        with self._lock:
            self._cache.clear()

    # fields ----------------------------------------------------------------------------

    @staticmethod
    def _aad(key_id: uuid.UUID, table: str, row_id: object, column: str) -> bytes:
        return f"gd1|{table}|{row_id}|{column}|{key_id}".encode()

    def encrypt(
        self,
        session: Session,
        *,
        key_id: uuid.UUID,
        table: str,
        row_id: object,
        column: str,
        plaintext: str,
    ) -> bytes:
        return self.encrypt_bytes(
            session,
            key_id=key_id,
            table=table,
            row_id=row_id,
            column=column,
            data=plaintext.encode("utf-8"),
        )

    def encrypt_bytes(
        self,
        session: Session,
        *,
        key_id: uuid.UUID,
        table: str,
        row_id: object,
        column: str,
        data: bytes,
    ) -> bytes:
        """Binary content (a recording, a photo) sealed like every text field."""
        key = self._data_key(session, key_id)
        nonce = secrets.token_bytes(12)
        aad = self._aad(key_id, table, row_id, column)
        return VERSION + nonce + AESGCM(key).encrypt(nonce, data, aad)

    def decrypt(
        self,
        session: Session,
        *,
        key_id: uuid.UUID,
        table: str,
        row_id: object,
        column: str,
        blob: bytes,
    ) -> str:
        data = self.decrypt_bytes(
            session, key_id=key_id, table=table, row_id=row_id, column=column, blob=blob
        )
        return data.decode("utf-8")

    def decrypt_bytes(
        self,
        session: Session,
        *,
        key_id: uuid.UUID,
        table: str,
        row_id: object,
        column: str,
        blob: bytes,
    ) -> bytes:
        if len(blob) < 1 + 12 + 16 or blob[:1] != VERSION:
            raise DecryptionError(f"{table}.{column} of {row_id} is not a valid ciphertext")
        key = self._data_key(session, key_id)
        aad = self._aad(key_id, table, row_id, column)
        try:
            return AESGCM(key).decrypt(blob[1:13], blob[13:], aad)
        except InvalidTag as exc:
            raise DecryptionError(f"{table}.{column} of {row_id} failed authentication") from exc

    # lookups without storing the secret ------------------------------------------------

    def blind_index(self, kind: str, value: str) -> str:
        """HMAC-SHA256 of a normalised identifier under the key file's own index key."""
        message = f"{kind}|{value}".encode()
        return hmac.new(self.keyring.material.blind_index_key, message, hashlib.sha256).hexdigest()

    def receipt_hash(self, code: str) -> str:
        """Argon2id of a receipt code, salted with the installation's salt so it can be
        looked up; the code has at least 80 bits of entropy."""
        normalised = code.replace("-", "").replace(" ", "").upper()
        digest = hash_secret_raw(
            normalised.encode(),
            self.keyring.material.receipt_salt,
            time_cost=2,
            memory_cost=19456,
            parallelism=1,
            hash_len=32,
            type=Type.ID,
        )
        return digest.hex()

    def session_mac(self, purpose: str, value: str) -> str:
        key = self.keyring.material.session_key
        return hmac.new(key, f"{purpose}|{value}".encode(), hashlib.sha256).hexdigest()
