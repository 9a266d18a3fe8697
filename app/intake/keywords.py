"""Words a reporter may send on their own, in every supported language.

Keywords are recognised in any language, not only the chosen one: workers switch
between scripts and languages, and an opt-out must never be missed. A keyword is a
whole message (trimmed, case-insensitive, trailing punctuation ignored).
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum


class Keyword(StrEnum):
    stop = "stop"
    start = "start"
    help = "help"
    status = "status"
    new = "new"
    reopen = "reopen"
    danger = "danger"  # in danger now: the case becomes urgent (app/danger)
    hide = "hide"  # take back consent to be identified (app/disclosure)


# Twilio acts on these by itself on SMS (PROVIDERS.md) and sends its own confirmation.
TWILIO_OPT_OUT = frozenset(
    {"stop", "unsubscribe", "end", "quit", "stopall", "revoke", "optout", "cancel"}
)
TWILIO_OPT_IN = frozenset({"start", "yes", "unstop"})
# Only an opt-in while opted out: "yes" is an ordinary answer in a conversation.
OPT_IN_ONLY_WHEN_OUT = frozenset({"yes", "unstop"})


def _words(text: str) -> frozenset[str]:
    """Words and phrases separated by "|" (a phrase may hold spaces)."""
    return frozenset(word.strip() for word in text.split("|"))


_WORDS: dict[Keyword, frozenset[str]] = {
    Keyword.stop: TWILIO_OPT_OUT
    | _words("parar|baja|detener|cancelar")  # es
    | _words("arret|arrêt|arreter|arrêter|desabonner")  # fr
    | _words("توقف|إيقاف|ايقاف|الغاء|إلغاء")  # ar
    | _words("বন্ধ|থামো|থামুন")  # bn
    | _words("بند|رکیں|روکیں")  # ur
    | _words("बन्द|रोक|रोक्नुहोस्")  # ne
    | _words("बंद|रोकें")  # hi
    | _words("dung|dừng|huy|hủy")  # vi
    | _words("ឈប់")  # km
    | _words("ရပ်|ရပ်ပါ")  # my
    | _words("berhenti|henti")  # id, ms
    | _words("退订|停止")  # zh
    | _words("dur|iptal")  # tr
    | _words("odjava|prekid")  # sr
    | _words("tsaya|daina"),  # ha
    Keyword.start: TWILIO_OPT_IN
    | _words("inicio|alta|empezar")  # es
    | _words("debut|début|commencer")  # fr
    | _words("ابدأ|ابدا|بدء")  # ar
    | _words("শুরু")  # bn
    | _words("شروع")  # ur
    | _words("सुरु")  # ne
    | _words("शुरू|शुरु")  # hi
    | _words("bat dau|bắt đầu")  # vi
    | _words("ចាប់ផ្តើម|ចាប់ផ្ដើម")  # km
    | _words("စတင်")  # my
    | _words("mulai|mula")  # id, ms
    | _words("开始")  # zh
    | _words("basla|başla")  # tr
    | _words("pocni|počni|prijava")  # sr
    | _words("fara"),  # ha
    Keyword.help: _words("help|info")
    | _words("ayuda|aide")  # es, fr
    | _words("مساعدة|مساعده")  # ar
    | _words("সাহায্য")  # bn
    | _words("مدد")  # ur
    | _words("मद्दत|मदद")  # ne, hi
    | _words("giup|giúp")  # vi
    | _words("ជំនួយ")  # km
    | _words("အကူအညီ")  # my
    | _words("bantuan|tolong")  # id, ms
    | _words("帮助")  # zh
    | _words("yardim|yardım")  # tr
    | _words("pomoc|pomoć")  # sr
    | _words("taimako"),  # ha
    Keyword.status: _words("status")  # en, id, ms, sr
    | _words("estado|statut|etat|état")  # es, fr
    | _words("حالة|الحالة")  # ar
    | _words("অবস্থা")  # bn
    | _words("حالت|صورتحال")  # ur
    | _words("स्थिति")  # ne, hi
    | _words("tinh trang|tình trạng")  # vi
    | _words("ស្ថានភាព")  # km
    | _words("အခြေအနေ")  # my
    | _words("状态|狀態")  # zh
    | _words("durum")  # tr
    | _words("matsayi"),  # ha
    Keyword.new: _words("new")
    | _words("nuevo|nueva|nouveau|nouvelle")  # es, fr
    | _words("جديد")  # ar
    | _words("নতুন")  # bn
    | _words("نیا|نئی")  # ur
    | _words("नयाँ|नया|नई")  # ne, hi
    | _words("mới")  # vi
    | _words("ថ្មី")  # km
    | _words("အသစ်")  # my
    | _words("baru")  # id, ms
    | _words("新|新的")  # zh
    | _words("yeni")  # tr
    | _words("novo|nova")  # sr
    | _words("sabo"),  # ha
    Keyword.reopen: _words("reopen|re-open|open again")
    | _words("reabrir")  # es
    | _words("rouvrir")  # fr
    | _words("إعادة فتح|اعادة فتح|افتح")  # ar
    | _words("আবার খুলুন|পুনরায় খুলুন")  # bn
    | _words("دوبارہ کھولیں|دوبارہ")  # ur
    | _words("फेरि खोल्नुहोस्|फेरि खोल")  # ne
    | _words("फिर से खोलें|फिर खोलें|दोबारा खोलें")  # hi
    | _words("mo lai|mở lại")  # vi
    | _words("បើកម្តងទៀត|បើកឡើងវិញ")  # km
    | _words("ပြန်ဖွင့်")  # my
    | _words("buka lagi|buka semula|buka kembali")  # id, ms
    | _words("重新打开|重开")  # zh
    | _words("yeniden ac|yeniden aç")  # tr
    | _words("ponovo otvori|otvori ponovo")  # sr
    | _words("sake bude|bude"),  # ha
    Keyword.danger: _words("danger|sos")  # en, fr
    | _words("peligro")  # es
    | _words("خطر")  # ar
    | _words("বিপদ")  # bn
    | _words("خطرہ")  # ur
    | _words("खतरा")  # ne, hi
    | _words("nguy hiem|nguy hiểm")  # vi
    | _words("គ្រោះថ្នាក់")  # km
    | _words("အန္တရာယ်")  # my
    | _words("bahaya")  # id, ms
    | _words("危险|危險")  # zh
    | _words("tehlike")  # tr
    | _words("opasnost")  # sr
    | _words("hadari|haɗari"),  # ha
    Keyword.hide: _words("hide")
    | _words("ocultar")  # es
    | _words("cacher|masquer")  # fr
    | _words("إخفاء|اخفاء")  # ar
    | _words("লুকান|লুকাও")  # bn
    | _words("چھپائیں|چھپاؤ")  # ur
    | _words("लुकाउनुहोस्|लुकाउ")  # ne
    | _words("छिपाएं|छिपाएँ|छुपाएं")  # hi
    | _words("an di|ẩn đi|ẩn")  # vi
    | _words("លាក់")  # km
    | _words("ဖျောက်")  # my
    | _words("sembunyikan")  # id, ms
    | _words("隐藏|隱藏")  # zh
    | _words("gizle")  # tr
    | _words("sakrij")  # sr
    | _words("boye"),  # ha
}

GREETINGS = (
    _words("hi|hello|hey|hallo|good morning|good evening|hi there")
    | _words("salam|salaam|slm|assalamu alaikum|assalamualaikum|assalamu alaykum")
    | _words("as salamu alaikum|asalam o alaikum|assalam o alaikum|asalamualaikum")
    | _words("السلام عليكم|سلام|مرحبا|اهلا|أهلا|السلام علیکم")
    | _words("হ্যালো|হাই|নমস্কার|আসসালামু আলাইকুম|সালাম")
    | _words("namaste|namaskar|नमस्ते|नमस्कार")
    | _words("xin chào|xin chao|chào|chao|alo")
    | _words("merhaba|selam|selamlar")
    | _words("hola|buenos dias|buenos días|buenas|buenas tardes")
    | _words("bonjour|salut|bonsoir")
    | _words("សួស្តី|ជំរាបសួរ")
    | _words("မင်္ဂလာပါ")
    | _words("halo|selamat pagi|selamat siang|selamat malam")
    | _words("你好|您好|喂")
    | _words("zdravo|ćao|cao|dobar dan")
    | _words("sannu|ina kwana|barka")
)

_SPACES = re.compile(r"\s+")
# Dropped at both ends: punctuation, symbols (emoji), spaces and controls, but never
# the combining vowel signs of Indic, Khmer and Burmese words.
_EDGE = ("P", "S", "Z", "C")


def _edge(ch: str) -> bool:
    return unicodedata.category(ch).startswith(_EDGE)


def normalise(text: str) -> str:
    """Case-folded, trimmed, inner spaces collapsed, punctuation at both ends dropped.

    Turkish dotted capital I folds to "i" plus a combining dot; the dot is dropped so
    "YENİ" reads as "yeni".
    """
    folded = unicodedata.normalize("NFC", text).casefold().replace("i\u0307", "i")
    start, end = 0, len(folded)
    while start < end and _edge(folded[start]):
        start += 1
    while end > start and _edge(folded[end - 1]):
        end -= 1
    return _SPACES.sub(" ", folded[start:end])


_LOOKUP = {word: keyword for keyword, words in _WORDS.items() for word in words}


def keyword(text: str, *, opted_out: bool) -> tuple[Keyword, str] | None:
    """The keyword a whole message is, with the word as written (normalised)."""
    word = normalise(text)
    if not word or len(word) > 24:
        return None
    found = _LOOKUP.get(word)
    if found is Keyword.start and word in OPT_IN_ONLY_WHEN_OUT and not opted_out:
        return None
    return (found, word) if found is not None else None


def is_greeting(text: str) -> bool:
    """Only a greeting ("Hi!", "Assalamu alaikum", "হ্যালো 🙏"), nothing to keep."""
    cleaned = "".join(" " if unicodedata.category(ch)[0] in "PS" else ch for ch in text)
    word = normalise(cleaned)
    return bool(word) and (word in GREETINGS or all(w in GREETINGS for w in word.split()))


def has_letters(text: str) -> bool:
    """True when there is something written in words (not only emoji, digits or marks)."""
    return any(unicodedata.category(ch).startswith("L") for ch in text)
