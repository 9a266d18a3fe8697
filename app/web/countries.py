"""The countries offered on the form: where the workers this service is for mostly are,
named in the reporter's language by Babel. Each language suggests its likeliest country."""

from __future__ import annotations

from babel import Locale

from app.i18n import Language

COUNTRIES = (
    "BD", "KH", "CN", "EG", "ET", "GT", "HN", "IN", "ID", "JO", "KE", "LK", "MY", "MX", "MA",
    "MM", "NP", "NG", "PK", "PE", "PH", "RS", "TH", "TN", "TR", "VN",
)  # fmt: skip
SUGGESTED = {
    "bn": "BD", "ur": "PK", "ne": "NP", "hi": "IN", "vi": "VN", "km": "KH", "my": "MM",
    "id": "ID", "ms": "MY", "zh": "CN", "tr": "TR", "sr": "RS", "ha": "NG",
}  # fmt: skip


def country_choices(lang: Language) -> list[tuple[str, str]]:
    names = Locale.parse(lang.locale).territories
    return sorted(((code, str(names.get(code, code))) for code in COUNTRIES), key=lambda c: c[1])
