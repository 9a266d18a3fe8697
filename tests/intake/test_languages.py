"""Whole conversations in Bengali and Arabic, and the language menu."""

from __future__ import annotations

import re

from sqlmodel import select

from app.cases import service as case_service
from app.cases.models import Case
from app.identity.models import Reporter
from app.runtime import Runtime
from tests.intake.helpers import BD, MX, MY, SA, cases, said_workplace, send

REF = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}")
BN_STORY = "আমাদের তিন মাসের বেতন দেওয়া হয়নি। ওভারটাইমের টাকাও পাইনি।"
AR_STORY = "المشرف ضرب زميلي في المصنع أمس وهددنا بالطرد إذا اشتكينا."


def _narrative(runtime: Runtime, case: Case) -> str | None:
    with runtime.session() as session:
        return case_service.narrative(session, runtime.vault, case)


def test_bengali_conversation_from_greeting_to_reference_and_status(runtime: Runtime) -> None:
    reply = send(runtime, "হ্যালো", sender=BD)  # Bengali script: no menu needed
    assert reply == "কী হয়েছে? একটি বার্তায় আমাদের বলুন। আপনার নাম দিতে হবে না।"
    reply = send(runtime, BN_STORY, sender=BD)
    assert reply is not None and "কারখানা" in reply
    reply = send(runtime, "স্টার গার্মেন্টস, গাজীপুর", sender=BD)
    assert reply is not None and "অবস্থা" in reply
    match = REF.search(reply)
    assert match is not None
    [case] = cases(runtime)
    assert (case.reference, case.language, case.country) == (match.group(0), "bn", "BD")
    assert said_workplace(runtime, case) == "স্টার গার্মেন্টস, গাজীপুর" and case.category == "wages"
    assert _narrative(runtime, case) == BN_STORY
    status = send(runtime, "অবস্থা", sender=BD)
    assert status == f"কেস {case.reference}: আপনার অভিযোগ পেয়েছি। আমাদের দল শিগগির দেখবে।"


def test_bengali_chosen_from_the_menu(runtime: Runtime) -> None:
    menu = send(runtime, "hi", sender=BD)
    assert menu == "আপনার ভাষা বেছে নিন। নম্বরটি পাঠান:\n1 বাংলা\n2 English\n0 আরও"
    reply = send(runtime, "১", sender=BD)  # Bengali digit one
    assert reply is not None and reply.startswith("কী হয়েছে?")
    with runtime.session() as session:
        [reporter] = session.exec(select(Reporter)).all()
        assert reporter.language == "bn"


def test_arabic_conversation_and_status(runtime: Runtime) -> None:
    reply = send(runtime, "السلام عليكم", sender=SA, channel="whatsapp", provider="meta")
    assert reply is not None and reply.startswith("ماذا حدث؟")
    reply = send(runtime, AR_STORY, sender=SA, channel="whatsapp", provider="meta")
    assert reply is not None and "المصنع" in reply
    reply = send(runtime, "مصنع النور للملابس", sender=SA, channel="whatsapp", provider="meta")
    assert reply is not None and "حالة" in reply
    [case] = cases(runtime)
    assert case.reference in reply
    assert (case.language, case.country, case.channel) == ("ar", "SA", "whatsapp")
    assert case.category == "harassment_violence" and case.urgent
    status = send(runtime, "حالة", sender=SA, channel="whatsapp", provider="meta")
    assert status is not None and status.startswith(f"الشكوى {case.reference}:")


def test_menu_nonsense_then_a_language_name_keeps_everything(runtime: Runtime) -> None:
    menu = send(runtime, "hola", sender=MX)
    assert menu == "Elija su idioma. Envíe el número:\n1 Español\n2 English\n0 Más"
    retry = send(runtime, "banana", sender=MX)
    assert retry is not None and retry.startswith("Perdón, no entendimos.")
    assert retry.endswith("1 Español\n2 English\n0 Más")
    assert send(runtime, "7", sender=MX) == retry  # out of range: the same clear answer
    reply = send(runtime, "espanol", sender=MX)
    assert reply is not None and reply.startswith("¿Qué pasó?")
    send(runtime, "No nos pagan las horas extra desde hace dos meses.", sender=MX)
    reply = send(runtime, "Maquila Norte", sender=MX)
    assert reply is not None and "ESTADO" in reply
    [case] = cases(runtime)
    assert case.language == "es" and case.country == "MX"
    text = _narrative(runtime, case)
    assert text is not None and text.startswith("banana\n\n")  # nothing is thrown away
    status = send(runtime, "Estado", sender=MX)
    assert status is not None and status.startswith(f"Caso {case.reference}:")


def test_menu_pages_through_every_language(runtime: Runtime) -> None:
    first = send(runtime, "hello", sender=MY)
    assert first == (
        "Pilih bahasa anda. Hantar nombornya:\n1 Bahasa Melayu\n2 English\n3 বাংলা"
        "\n4 नेपाली\n5 မြန်မာ\n6 Bahasa Indonesia\n7 Tiếng Việt\n0 Lagi"
    )
    second = send(runtime, "0", sender=MY)
    assert second is not None and second.startswith("Pilih bahasa anda. Hantar nombornya:\n")
    assert "1 Español\n2 Français\n3 العربية" in second and second.endswith("0 Lagi")
    assert send(runtime, "0", sender=MY) != second  # the last page ...
    assert send(runtime, "0", sender=MY) == first  # ... wraps around to the first
    retry = send(runtime, "??", sender=MY)
    assert retry is not None and retry.startswith("Maaf, tidak faham.")
    reply = send(runtime, "6", sender=MY)
    assert reply is not None and reply.startswith("Apa yang terjadi?")  # Indonesian


def test_opt_out_in_bengali_is_confirmed_by_us_even_on_twilio_sms(runtime: Runtime) -> None:
    # Twilio knows no Bengali keywords, so it sends no confirmation of its own.
    reply = send(runtime, "বন্ধ", sender=BD)
    assert reply == "আমাদের আর কোনো বার্তা পাবেন না। আবার পেতে শুরু লিখে পাঠান।"
    assert send(runtime, "হ্যালো", sender=BD) is None
    assert send(runtime, "শুরু", sender=BD) == "আবার স্বাগতম। আপনি আবার আমাদের বার্তা পাবেন।"
    help_text = send(runtime, "সাহায্য", sender=BD)
    assert help_text is not None and help_text.startswith("আমরা শ্রমিকদের অভিযোগ গোপনে নিই।")
    with runtime.session() as session:
        [reporter] = session.exec(select(Reporter)).all()
        assert not reporter.opted_out and reporter.last_inbound_at is not None


def test_a_language_named_or_coded_picks_it_menu_or_not(runtime: Runtime) -> None:
    reply = send(runtime, "Bangla", sender=BD)  # before any menu
    assert reply is not None and reply.startswith("কী হয়েছে?")
    menu = send(runtime, "hi", sender=MX)
    assert menu is not None and menu.endswith("0 Más")
    reply = send(runtime, "EN", sender=MX)  # a code, in capitals
    assert reply is not None and reply.startswith("What happened?")
    reply = send(runtime, "বাংলা", sender=SA)  # the name in its own script
    assert reply is not None and reply.startswith("কী হয়েছে?")
