"""Fetching bundles through the API and re-signing doctored ones (a forger with the key)."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi.testclient import TestClient

from app.exports.signing import signing_key
from app.exports.verify import Summary, load_public_key, verify_lines
from app.runtime import Runtime
from tests.factories import auth


def fetch(client: TestClient, token: str, **params: Any) -> bytes:
    response = client.get("/api/v1/exports", params=params, headers=auth(token))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return response.content


def public_key(client: TestClient) -> Ed25519PublicKey:
    response = client.get("/.well-known/grievance-export-key.pem")
    assert response.status_code == 200
    return load_public_key(response.content)


def check(bundle: bytes, key: Ed25519PublicKey) -> Summary:
    return verify_lines(bundle.splitlines(keepends=True), key)


def entries(bundle: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in bundle.splitlines()]


def resign(runtime: Runtime, lines: list[dict[str, Any]]) -> bytes:
    """Lines (without the signature) re-serialised and signed with the real key."""
    body = b"".join((json.dumps(e, separators=(",", ":")) + "\n").encode() for e in lines)
    digest = hashlib.sha256(body).digest()
    signature = signing_key(runtime.vault.keyring).sign(digest)
    tail = {
        "type": "signature",
        "algorithm": "Ed25519",
        "sha256": digest.hex(),
        "signature": base64.b64encode(signature).decode(),
    }
    return body + (json.dumps(tail) + "\n").encode()
