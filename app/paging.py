"""Opaque keyset cursors: the sort key of the last item of a page, as URL-safe text.

A page is "the items after this key, in this order": it costs the same however deep it
is, and an item added or removed meanwhile neither repeats nor skips another."""

from __future__ import annotations

import base64
import binascii
import json

from app.errors import AppError


def encode(kind: str, *key: str) -> str:
    raw = json.dumps([kind, *key], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(cursor: str, kind: str, size: int) -> list[str]:
    """The key parts of a cursor that `encode(kind, ...)` gave out with `size` parts;
    400 `bad_cursor` for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        data = json.loads(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise AppError("the cursor is not one this API gave out", code="bad_cursor") from exc
    if (
        not isinstance(data, list)
        or len(data) != size + 1
        or data[0] != kind
        or not all(isinstance(part, str) for part in data)
    ):
        raise AppError("the cursor is not one this API gave out", code="bad_cursor")
    return data[1:]
