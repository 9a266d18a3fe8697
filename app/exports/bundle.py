"""Writing the bundle's lines: JSON Lines with a running SHA-256 and, last, an Ed25519
signature over that digest (docs/export-format.md)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from typing import Any

from cryptography.hazmat.primitives import serialization

from app.exports.signing import signing_key
from app.identity.keys import KeyRing

CHUNK = 1 << 16
_dumps = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode


def case_line(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "case", **item}


def event_line(row: tuple[Any, ...], case_id: str | None) -> dict[str, Any]:
    seq, at, kind, actor_id, action, _case, data, prev_hash, digest = row
    return {
        "type": "event",
        "seq": int(seq),
        "occurred_at": at,
        "actor_kind": kind,
        "actor_id": actor_id,
        "action": action,
        "case_id": case_id,
        "data": data,
        "prev_hash": prev_hash,
        "hash": digest,
    }


def link_line(row: tuple[Any, ...]) -> dict[str, Any]:
    # Another case's event: its place in the chain without its contents.
    return {"type": "link", "seq": int(row[0]), "prev_hash": row[7], "hash": row[8]}


class BundleWriter:
    def __init__(self, keyring: KeyRing) -> None:
        self._key = signing_key(keyring)
        self._sha = hashlib.sha256()
        self._buffer: list[bytes] = []
        self._size = 0
        self.counts = {"cases": 0, "events": 0, "links": 0}

    def line(self, entry: dict[str, Any]) -> Iterator[bytes]:
        kind = entry["type"]
        if kind in ("case", "event", "link"):
            self.counts[kind + "s"] += 1
        data = (_dumps(entry) + "\n").encode("ascii")
        self._buffer.append(data)
        self._size += len(data)
        if self._size >= CHUNK:
            yield self._flush()

    def _flush(self) -> bytes:
        chunk = b"".join(self._buffer)
        self._buffer, self._size = [], 0
        self._sha.update(chunk)
        return chunk

    def finish(self, segments: list[list[int]]) -> Iterator[bytes]:
        """The manifest of counts, then the signature line over everything before it."""
        yield from self.line({"type": "manifest", **self.counts, "segments": segments})
        if self._buffer:
            yield self._flush()
        digest = self._sha.digest()
        public = self._key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        signature = {
            "type": "signature",
            "algorithm": "Ed25519",
            "sha256": digest.hex(),
            "signature": base64.b64encode(self._key.sign(digest)).decode("ascii"),
            "key_sha256": hashlib.sha256(public).hexdigest(),
        }
        yield (_dumps(signature) + "\n").encode("ascii")
