"""Offline verification: every bad input named, and an auditor's own few-line verifier."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from fastapi.testclient import TestClient

from app.exports.verify import BundleError
from app.runtime import Runtime
from tests.cases.world import build
from tests.exports.helpers import check, entries, fetch, public_key, resign


@pytest.fixture
def bundle(runtime: Runtime, client: TestClient) -> bytes:
    w = build(runtime)
    return fetch(client, w.tokens["auditor"], partner="awaj")


def fails(bundle: bytes, client: TestClient, words: str) -> None:
    with pytest.raises(BundleError) as caught:
        check(bundle, public_key(client))
    assert words in str(caught.value), str(caught.value)


def test_one_byte_changed(bundle: bytes, client: TestClient) -> None:
    at = bundle.index(b'"status":"new"') + len('"status":"')
    changed = bundle[:at] + b"N" + bundle[at + 1 :]
    fails(changed, client, "does not match its signed digest")


def test_truncated(bundle: bytes, client: TestClient) -> None:
    fails(bundle[:-40], client, "truncated")
    fails(bundle[: len(bundle) // 2], client, "truncated")
    fails(b"", client, "empty")


def test_wrong_key(bundle: bytes) -> None:
    other = Ed25519PrivateKey.generate().public_key()
    with pytest.raises(BundleError, match="does not verify with this public key"):
        check(bundle, other)


def _body(bundle: bytes) -> list[dict[str, object]]:
    return entries(bundle)[:-1]


def test_event_removed_even_when_re_signed(
    bundle: bytes, runtime: Runtime, client: TestClient
) -> None:
    lines = _body(bundle)
    events = [i for i, e in enumerate(lines) if e["type"] == "event"]
    middle = lines[: events[1]] + lines[events[1] + 1 :]
    fails(resign(runtime, middle), client, "an event left out")
    first = lines[: events[0]] + lines[events[0] + 1 :]  # only the counts can tell
    fails(resign(runtime, first), client, "the manifest says events")


def test_event_reordered_even_when_re_signed(
    bundle: bytes, runtime: Runtime, client: TestClient
) -> None:
    lines = _body(bundle)
    i = next(i for i, e in enumerate(lines) if e["type"] == "event")
    lines[i], lines[i + 1] = lines[i + 1], lines[i]
    fails(resign(runtime, lines), client, "out of order")


def test_event_altered_even_when_re_signed(
    bundle: bytes, runtime: Runtime, client: TestClient
) -> None:
    lines = _body(bundle)
    event = next(e for e in lines if e["type"] == "event")
    event["action"] = "case.deleted"
    fails(resign(runtime, lines), client, "was altered")


def test_manifest_counts_disagree(bundle: bytes, runtime: Runtime, client: TestClient) -> None:
    lines = _body(bundle)
    manifest = lines[-1]
    assert manifest["type"] == "manifest"
    manifest["cases"] = 7
    fails(resign(runtime, lines), client, "the manifest says cases 7")
    assert check(resign(runtime, _body(bundle)), public_key(client)).cases == 2


def test_a_hand_written_verifier(bundle: bytes, client: TestClient) -> None:
    """What an auditor writes from docs/export-format.md, with cryptography and hashlib."""
    pem = client.get("/.well-known/grievance-export-key.pem").content

    body, _, last = bundle.rstrip(b"\n").rpartition(b"\n")
    signature = json.loads(last)
    digest = hashlib.sha256(body + b"\n").digest()
    assert signature["sha256"] == digest.hex()
    load_pem_public_key(pem).verify(base64.b64decode(signature["signature"]), digest)  # type: ignore[union-attr]
    previous = None
    for line in body.splitlines():
        e = json.loads(line)
        if e["type"] == "event":
            fields = [str(e["seq"])] + [
                e[k] or ""
                for k in (
                    "occurred_at",
                    "actor_kind",
                    "actor_id",
                    "action",
                    "case_id",
                    "data",
                    "prev_hash",
                )
            ]
            assert hashlib.sha256("\x1e".join(fields).encode()).hexdigest() == e["hash"]
        if e["type"] in ("event", "link"):
            if previous and e["seq"] == previous["seq"] + 1:
                assert e["prev_hash"] == previous["hash"]
            previous = e
