"""Writing the bundle's lines: JSON Lines with a running SHA-256 and, last, an Ed25519
signature over that digest (docs/export-format.md)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterator
from json.encoder import encode_basestring_ascii
from typing import Any

from cryptography.hazmat.primitives import serialization

from app.exports.signing import signing_key
from app.identity.keys import KeyRing

CHUNK = 1 << 16
_dumps = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode
_quote: Callable[[str], str] = encode_basestring_ascii  # the C encoder json.dumps uses


def case_line(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "case", **item}


def _text(value: str | None) -> str:
    return "null" if value is None else _quote(value)


def event_text(row: tuple[Any, ...], case_id: str) -> str:
    """An event line, formatted directly: this runs once per event, and building a dict
    for the generic encoder costs more than the rest of the export together."""
    seq, at, kind, actor_id, action, _case, data, prev_hash, digest = row
    return (
        f'{{"type":"event","seq":{int(seq)},"occurred_at":{_quote(at)},'
        f'"actor_kind":{_quote(kind)},"actor_id":{_text(actor_id)},"action":{_quote(action)},'
        f'"case_id":"{case_id}","data":{_quote(data)},"prev_hash":"{prev_hash}",'
        f'"hash":"{digest}"}}\n'
    )


def link_text(row: tuple[Any, ...]) -> str:
    # Another case's event: its place in the chain without its contents.
    return f'{{"type":"link","seq":{int(row[0])},"prev_hash":"{row[7]}","hash":"{row[8]}"}}\n'


class BundleWriter:
    def __init__(self, keyring: KeyRing) -> None:
        self._key = signing_key(keyring)
        self._sha = hashlib.sha256()
        self._buffer: list[bytes] = []
        self._size = 0
        self.counts = {"cases": 0, "events": 0, "links": 0}

    def line(self, entry: dict[str, Any]) -> Iterator[bytes]:
        kind = entry["type"]
        if kind == "case":
            self.counts["cases"] += 1
        yield from self._add(_dumps(entry) + "\n")

    def chain(self, rows: list[tuple[Any, ...]], chosen: dict[Any, str]) -> bytes:
        """One fetched batch of the chain as bytes: events of chosen cases, links for the
        rest. Done per batch, not per line: this is the export's inner loop."""
        texts: list[str] = []
        append = texts.append
        events = 0
        for row in rows:
            case_id = chosen.get(row[5])
            if case_id is None:
                append(link_text(row))
            else:
                append(event_text(row, case_id))
                events += 1
        self.counts["events"] += events
        self.counts["links"] += len(rows) - events
        pending = self._flush() if self._buffer else b""  # the case lines before it
        data = "".join(texts).encode("ascii")
        self._sha.update(data)
        return pending + data

    def _add(self, text: str) -> Iterator[bytes]:
        data = text.encode("ascii")
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
