"""SMS segment counting (GSM 03.38 / UCS-2), because every segment may cost the worker money."""

from __future__ import annotations

# GSM 03.38 basic character set, in table order (0x1B is the escape to the extension table,
# not a character, so it is left out).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
# Extension table: each costs two septets (escape + code).
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


def _pack(costs: list[int], single: int, part: int) -> int:
    total = sum(costs)
    if total <= single:
        return 1
    # Multipart messages lose room to the concatenation header, and a character may not be
    # split across two parts (an escaped GSM character or a UTF-16 surrogate pair), so fill
    # parts greedily instead of dividing.
    count, used = 1, 0
    for cost in costs:
        if used + cost > part:
            count, used = count + 1, 0
        used += cost
    return count


def segments(text: str) -> tuple[str, int]:
    """Return ("GSM-7" | "UCS-2", number of SMS segments) for `text`; "" is one segment."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        costs = [2 if ch in GSM7_EXTENSION else 1 for ch in text]
        return "GSM-7", _pack(costs, GSM7_SINGLE, GSM7_PART)
    # UTF-16 code units: characters beyond the BMP (most emoji) take a surrogate pair.
    costs = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
    return "UCS-2", _pack(costs, UCS2_SINGLE, UCS2_PART)


def fits(text: str, max_segments: int) -> bool:
    return segments(text)[1] <= max_segments
