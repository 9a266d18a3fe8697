"""Offline verification of an export bundle (format: docs/export-format.md).

Needs only the bundle and the service's public key: no database, no configuration, and
nothing from the rest of the service but this file (it imports the standard library and
`cryptography` alone), so an auditor can read it whole and trust what it checks.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

FORMAT = "grievance-desk-export/1"
SEP = "\x1e"
GENESIS = "0" * 64
EVENT_FIELDS = ("seq", "occurred_at", "actor_kind", "actor_id", "action", "case_id", "data")


class BundleError(Exception):
    """The first thing wrong with a bundle, in an auditor's words."""


def event_hash(event: dict[str, Any]) -> str:
    parts = [str(event["seq"])] + [event[k] or "" for k in EVENT_FIELDS[1:]]
    payload = SEP.join([*parts, event["prev_hash"]])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    try:
        key = load_pem_public_key(pem)
    except ValueError as exc:
        raise BundleError("the public key file is not a PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise BundleError("the public key is not an Ed25519 key")
    return key


@dataclass
class Summary:
    cases: int = 0
    events: int = 0
    links: int = 0
    segments: list[list[int]] = field(default_factory=list)
    audit_head: str = ""
    content: bool = False


@dataclass
class _Walk:
    """The structural checks, fed one parsed line at a time."""

    summary: Summary = field(default_factory=Summary)
    case_ids: dict[str, str] = field(default_factory=dict)  # id -> reference
    case_segment: dict[str, int] = field(default_factory=dict)
    last_seq: int = 0
    last_hash: str = ""
    head_seq: int = 0
    head_hash: str = ""
    manifest: dict[str, Any] | None = None
    lines: int = 0

    def feed(self, entry: dict[str, Any]) -> None:
        self.lines += 1
        kind = entry.get("type")
        if self.lines == 1:
            self._header(entry)
        elif self.manifest is not None:
            raise BundleError(f"line {self.lines}: {kind!r} after the manifest")
        elif kind == "case":
            self._case(entry)
        elif kind in ("event", "link"):
            self._chain(entry, full=kind == "event")
        elif kind == "manifest":
            self.manifest = entry
        else:
            raise BundleError(f"line {self.lines}: unknown line type {kind!r}")

    def _header(self, entry: dict[str, Any]) -> None:
        if entry.get("type") != "header" or entry.get("format") != FORMAT:
            raise BundleError(f"line 1 is not a {FORMAT} header")
        seq, _, digest = str(entry.get("audit_head", "")).partition(":")
        if not seq.isdigit() or len(digest) != 64:
            raise BundleError("the header's audit_head is not SEQ:HASH")
        self.head_seq, self.head_hash = int(seq), digest
        self.summary.audit_head = f"{seq}:{digest}"
        self.summary.content = bool(entry.get("content"))

    def _case(self, entry: dict[str, Any]) -> None:
        if self.summary.events or self.summary.links:
            raise BundleError(f"line {self.lines}: case {entry.get('reference')} after events")
        case_id = str(entry.get("id"))
        if case_id in self.case_ids:
            raise BundleError(f"case {entry.get('reference')} appears twice")
        self.case_ids[case_id] = str(entry.get("reference"))
        self.summary.cases += 1

    def _chain(self, entry: dict[str, Any], *, full: bool) -> None:
        seq, prev_hash, digest = entry.get("seq"), entry.get("prev_hash"), entry.get("hash")
        if (
            not isinstance(seq, int)
            or not isinstance(prev_hash, str)
            or not isinstance(digest, str)
        ):
            raise BundleError(f"line {self.lines}: a chain entry lacks seq, prev_hash or hash")
        if seq <= self.last_seq:
            raise BundleError(f"event {seq} is out of order (it follows event {self.last_seq})")
        segments = self.summary.segments
        if segments and seq == self.last_seq + 1:
            if prev_hash != self.last_hash:
                raise BundleError(f"event {seq} does not link to event {seq - 1}")
            segments[-1][1] = seq
        else:
            if seq == 1 and prev_hash != GENESIS:
                raise BundleError("event 1 does not start from the genesis hash")
            segments.append([seq, seq])
        if full:
            self._event(entry, seq, digest, len(segments) - 1)
        else:
            self.summary.links += 1
        if seq == self.head_seq and digest != self.head_hash:
            raise BundleError(f"event {seq} does not match the audit head in the header")
        if seq > self.head_seq:
            raise BundleError(f"event {seq} is past the audit head {self.head_seq}")
        self.last_seq, self.last_hash = seq, digest

    def _event(self, entry: dict[str, Any], seq: int, digest: str, segment: int) -> None:
        try:
            recomputed = event_hash(entry)
        except (KeyError, TypeError) as exc:
            raise BundleError(f"event {seq} lacks a field ({exc})") from exc
        if recomputed != digest:
            raise BundleError(f"event {seq} was altered (its hash does not match)")
        case_id = entry.get("case_id")
        if case_id not in self.case_ids:
            raise BundleError(f"event {seq} belongs to no case in the bundle")
        first = self.case_segment.setdefault(case_id, segment)
        if first != segment:
            raise BundleError(
                f"the chain between events of case {self.case_ids[case_id]} has a gap "
                f"before event {seq} (an event left out?)"
            )
        self.summary.events += 1

    def finish(self) -> Summary:
        if self.lines == 0:
            raise BundleError("the bundle is empty")
        if self.manifest is None:
            raise BundleError("the bundle has no manifest (truncated?)")
        for name in ("cases", "events", "links", "segments"):
            claimed, found = self.manifest.get(name), getattr(self.summary, name)
            if claimed != found:
                raise BundleError(f"the manifest says {name} {claimed}, the bundle holds {found}")
        return self.summary


def _parse(line: bytes, number: int) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BundleError(f"line {number} is not JSON") from exc
    if not isinstance(value, dict):
        raise BundleError(f"line {number} is not a JSON object")
    return value


def _check_signature(line: bytes, digest: bytes, key: Ed25519PublicKey) -> None:
    try:
        entry = json.loads(line)
    except (UnicodeDecodeError, ValueError):
        entry = None
    if not isinstance(entry, dict) or entry.get("type") != "signature":
        raise BundleError("the bundle does not end with its signature line (truncated?)")
    if entry.get("sha256") != digest.hex():
        raise BundleError("the bundle's content does not match its signed digest (changed?)")
    try:
        signature = base64.b64decode(str(entry.get("signature")), validate=True)
        key.verify(signature, digest)
    except (InvalidSignature, binascii.Error, ValueError) as exc:
        raise BundleError("the signature does not verify with this public key") from exc


def verify_lines(lines: Iterable[bytes], key: Ed25519PublicKey) -> Summary:
    """Check a bundle given as its lines (each ending in a newline)."""
    sha256 = hashlib.sha256()
    walk = _Walk()
    pending: bytes | None = None
    problem: BundleError | None = None
    for line in lines:
        if pending is not None:
            sha256.update(pending)
            if problem is None:
                try:
                    walk.feed(_parse(pending, walk.lines + 1))
                except BundleError as exc:
                    problem = exc  # the signature is checked first; this comes next
        pending = line
    if pending is None:
        raise BundleError("the bundle is empty")
    if not pending.endswith(b"\n"):
        raise BundleError("the bundle's last line is cut off (truncated?)")
    _check_signature(pending, sha256.digest(), key)
    if problem is not None:
        raise problem
    return walk.finish()


def verify_stream(stream: BinaryIO, key: Ed25519PublicKey) -> Summary:
    return verify_lines(stream, key)


def verify_file(path: Path, key_path: Path) -> Summary:
    try:
        key = load_public_key(key_path.read_bytes())
    except OSError as exc:
        raise BundleError(f"cannot read the public key {key_path}: {exc.strerror}") from exc
    try:
        with path.open("rb") as stream:
            return verify_stream(stream, key)
    except OSError as exc:
        raise BundleError(f"cannot read the bundle {path}: {exc.strerror}") from exc
