"""The Ed25519 key that signs export bundles.

It is derived from the key file's blind-index key (HKDF-SHA256), which never rotates: every
process holding the key file signs with the same key, a backup of the key file is a backup
of the signing key, and the key never touches the database.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.identity.keys import KeyRing

INFO = b"grievance-desk export signing key v1"


def signing_key(keyring: KeyRing) -> Ed25519PrivateKey:
    seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INFO).derive(
        keyring.material.blind_index_key
    )
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_key_pem(keyring: KeyRing) -> str:
    return (
        signing_key(keyring)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )
