"""Reading a reporter's answer to a question: a number in any script (1, ১, ١, ၁ ...) or
a yes/no word in any supported language. Anything else is not an answer."""

from __future__ import annotations

import unicodedata

from app.intake.keywords import normalise


def _words(text: str) -> frozenset[str]:
    return frozenset(word.strip() for word in text.split("|"))


YES = (
    _words("yes|y|ok|agree|si|sí|oui|d'accord")
    | _words("نعم|موافق")  # ar
    | _words("হ্যাঁ|হা|হাঁ|রাজি")  # bn
    | _words("ہاں|جی ہاں|متفق")  # ur
    | _words("हो|हजुर|सहमत")  # ne
    | _words("हाँ|हां|जी")  # hi
    | _words("co|có|dong y|đồng ý")  # vi
    | _words("បាទ|ចាស|យល់ព្រម")  # km
    | _words("ဟုတ်|ဟုတ်ကဲ့|သဘောတူ")  # my
    | _words("ya|setuju")  # id, ms
    | _words("是|是的|对|同意")  # zh
    | _words("evet|kabul")  # tr
    | _words("da|slažem se")  # sr
    | _words("i|na yarda|eh")  # ha
)
NO = (
    _words("no|n|disagree|non|pas d'accord")
    | _words("لا|غير موافق")  # ar
    | _words("না|রাজি না")  # bn
    | _words("نہیں|جی نہیں")  # ur
    | _words("होइन|छैन|असहमत")  # ne
    | _words("नहीं|नही|असहमत")  # hi
    | _words("khong|không")  # vi
    | _words("ទេ|មិនយល់ព្រម")  # km
    | _words("မဟုတ်|သဘောမတူ")  # my
    | _words("tidak|tak|tidak setuju")  # id, ms
    | _words("不|不是|不同意")  # zh
    | _words("hayır|hayir")  # tr
    | _words("ne|ne slažem se")  # sr
    | _words("a'a|aa|ban yarda ba")  # ha
)


def number(text: str) -> int | None:
    """The whole message as a number written in any script's decimal digits."""
    word = normalise(text)
    if not word or len(word) > 3:
        return None
    digits = [unicodedata.decimal(ch, -1) for ch in word]
    if any(d < 0 for d in digits):
        return None
    value = 0
    for d in digits:
        value = value * 10 + d
    return value


def yes_no(text: str) -> bool | None:
    """True for 1 or a yes word, False for 2 or a no word, None for anything else."""
    found = number(text)
    if found is not None:
        return {1: True, 2: False}.get(found)
    word = normalise(text)
    if word in YES:
        return True
    if word in NO:
        return False
    return None


def scale(text: str, top: int = 5) -> int | None:
    """A number from 1 to `top`, or None."""
    found = number(text)
    return found if found is not None and 1 <= found <= top else None
