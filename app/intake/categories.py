"""A first guess at the category from words in the narrative; monitors re-categorise.

Stems are matched as substrings of the case-folded text, so one stem covers inflections.
A wrong guess costs a monitor one click; no guess at all ("other") is always allowed.
"""

from __future__ import annotations

from app.cases.models import Category


def _stems(*groups: str) -> tuple[str, ...]:
    return tuple(stem for group in groups for stem in group.split("|"))


_HINTS: dict[Category, tuple[str, ...]] = {
    Category.wages: _stems(
        "wage|salary|paid| pay|overtime|money|salario|sueldo|pago|horas extra|salaire|payé",
        "راتب|رواتب|أجر|اجر|বেতন|মজুরি|টাকা|ওভারটাইম|تنخواہ|اجرت|तलब|ज्याला|तनख्वाह",
        "वेतन|मजदूरी|lương|ប្រាក់ខែ|လစာ|gaji|upah|工资|薪水|maaş|ücret|plata|albashi|kudi",
    ),
    Category.working_hours: _stems(
        "hours|night shift|day off|horas|heures|ساعات|ঘণ্টা|گھنٹے|घण्टा|घंटे|giờ làm",
        "ម៉ោង|နာရီ|jam kerja|加班|工时|saat|sati|awoyi",
    ),
    Category.health_safety: _stems(
        "injur|accident|burn|unsafe|sick|chemical|toilet|accidente|herido|incendio|blessé",
        "incendie|إصابة|حريق|আগুন|দুর্ঘটনা|আহত|آگ|حادثہ|दुर्घटना|आगो|आग|tai nạn|cháy",
        "គ្រោះថ្នាក់|မီး|kecelakaan|kebakaran|事故|火灾|kaza|yangın|nesreća|povreda|hatsari",
    ),
    Category.harassment_violence: _stems(
        "harass|beat|hit me|hit a|hit us|slap|abuse|rape|threat",
        "acoso|golpe|harcèlement|frappé|تحرش|ضرب",
        "হয়রানি|মারধর|যৌন|ہراساں|مارا|उत्पीडन|कुट|उत्पीड़न|मारा|quấy rối|đánh|បៀតបៀន",
        "ရိုက်|pelecehan|dipukul|骚扰|殴打|taciz|dövdü|uznemiravanje|tukli|cin zarafi",
    ),
    Category.forced_labour: _stems(
        "passport|debt|recruitment fee|locked|cannot leave|pasaporte|deuda|dette|جواز|دين",
        "পাসপোর্ট|ঋণ|پاسپورٹ|قرض|राहदानी|पासपोर्ट|कर्ज|hộ chiếu|លិខិតឆ្លងដែន|ပတ်စ်ပို့",
        "paspor|hutang|utang|护照|债|pasaport|borç|pasoš|fasfo",
    ),
    Category.child_labour: _stems(
        "child|under 18|underage|niño|niña|enfant|طفل|أطفال|শিশু|বাচ্চা|بچے|बच्चे|बालबालिका",
        "trẻ em|កុមារ|ကလေး|anak|童工|çocuk|dete|deca|yara",
    ),
    Category.discrimination: _stems(
        "discriminat|pregnan|religion|caste|discrimina|embarazada|enceinte|تمييز|حامل",
        "বৈষম্য|গর্ভবতী|امتیاز|حاملہ|भेदभाव|गर्भवती|phân biệt|mang thai|រើសអើង|ခွဲခြား",
        "diskriminasi|hamil|歧视|怀孕|ayrımcılık|hamile|diskriminacija|trudn|wariya",
    ),
    Category.freedom_of_association: _stems(
        "union|sindicato|syndicat|نقابة|ইউনিয়ন|یونین|युनियन|यूनियन|công đoàn|សហជីព",
        "သမဂ္ဂ|serikat|kesatuan|工会|sendika|sindikat|kungiya",
    ),
    Category.environment: _stems(
        "pollution|river|smoke|waste|contaminación|تلوث|দূষণ|آلودگی|प्रदूषण|ô nhiễm",
        "បំពុល|ညစ်ညမ်း|pencemaran|污染|kirlilik|zagađenje|gurbata",
    ),
}


def infer(narrative: str) -> str:
    """The category with the most hints in the text; "other" when none or a tie."""
    text = f" {narrative.casefold()} "
    scores = sorted(
        ((sum(text.count(s) for s in stems), category) for category, stems in _HINTS.items()),
        key=lambda item: -item[0],
    )
    (best, category), (second, _) = scores[0], scores[1]
    return Category.other.value if best == 0 or best == second else category.value
