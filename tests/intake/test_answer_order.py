"""Answers in the wrong order (issue 13, item 6): the story given where the workplace was
asked is kept as the story and the name asked once more; a registered workplace's name given
where the story was asked is taken as the workplace. Never a loop, every reply in budget."""

from __future__ import annotations

import re

from app.cases import service as case_service
from app.routing.models import Workplace
from app.runtime import Runtime
from channels.segments import segments
from tests.intake.helpers import BD, GB, cases, said_workplace, send

REF = re.compile(r"\b[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}\b")
STORY = (
    "The factory has not paid our overtime for two months and the manager says we "
    "will be fired if we complain to anyone."
)
MORE = (
    "And yesterday the supervisor locked the fire exit again during the night shift, "
    "we were all afraid because there was smoke."
)


def _register(runtime: Runtime, name: str, country: str) -> None:
    with runtime.session() as session:
        session.add(Workplace(name=name, country=country))
        session.commit()


def _fits(reply: str | None, budget: int) -> str:
    assert reply is not None
    assert segments(reply)[1] <= budget, reply
    return reply


def test_the_story_where_the_workplace_was_asked_stays_the_story(runtime: Runtime) -> None:
    assert "factory, company or workplace" in _fits(send(runtime, STORY), 1)
    reply = _fits(send(runtime, MORE), 1)
    assert reply.startswith("We added that to your report.") and not REF.search(reply)
    assert cases(runtime) == []
    reply = _fits(send(runtime, "Star Garments Ltd, Gazipur"), 1)
    assert REF.search(reply)
    [case] = cases(runtime)
    assert said_workplace(runtime, case) == "Star Garments Ltd, Gazipur"
    with runtime.session() as session:
        told = case_service.narrative(session, runtime.vault, case)
    assert STORY in told and MORE in told


def test_asked_again_only_once_then_taken_as_the_workplace(runtime: Runtime) -> None:
    send(runtime, STORY)
    assert _fits(send(runtime, MORE), 1).startswith("We added that")
    long_name = (
        "Star Garments Limited in the Gazipur export zone, building four, "
        "the sewing section on the third floor"
    )
    reply = _fits(send(runtime, long_name), 1)
    assert REF.search(reply), "a second long answer files the case: never a loop"
    [case] = cases(runtime)
    assert said_workplace(runtime, case) == long_name


def test_a_long_answer_naming_a_registered_workplace_is_the_workplace(runtime: Runtime) -> None:
    _register(runtime, "Blue Star Garments", "GB")
    send(runtime, STORY)
    answer = "Blue Star Garments, line 4 of the sewing floor near the canteen in the old building"
    assert REF.search(_fits(send(runtime, answer), 1))
    [case] = cases(runtime)
    assert said_workplace(runtime, case) == answer


def test_a_registered_name_where_the_story_was_asked_is_the_workplace(runtime: Runtime) -> None:
    _register(runtime, "Star Garments", "BD")
    assert "কী হয়েছে" in _fits(send(runtime, "বাংলা", sender=BD), 2)
    reply = _fits(send(runtime, "Star Garments Ltd", sender=BD), 2)
    assert "কর্মস্থল লিখে রেখেছি" in reply and not REF.search(reply)
    reply = _fits(send(runtime, "তিন মাস ধরে ওভারটাইমের টাকা দেয়নি", sender=BD), 2)
    assert REF.search(reply), "no second question about the workplace"
    [case] = cases(runtime)
    assert case.language == "bn" and said_workplace(runtime, case) == "Star Garments Ltd"


def test_a_short_story_that_names_no_workplace_is_the_story(runtime: Runtime) -> None:
    _register(runtime, "Star Garments", "GB")
    send(runtime, "Hello", sender=GB)
    send(runtime, "1", sender=GB)
    reply = _fits(send(runtime, "No pay for October", sender=GB), 1)
    assert "factory, company or workplace" in reply


def test_an_unregistered_name_given_first_then_the_story(runtime: Runtime) -> None:
    """With no registered workplace to match, a short name with no sign of a grievance where
    the story was asked, then the story where the name was asked: filed at once, the name as
    the workplace, nothing lost from the story, no extra question."""
    assert send(runtime, "Hello") is not None
    assert send(runtime, "1") is not None
    assert "factory, company or workplace" in _fits(send(runtime, "Sunrise Knitwear"), 1)
    reply = _fits(send(runtime, STORY), 1)
    assert REF.search(reply), reply
    [case] = cases(runtime)
    assert said_workplace(runtime, case) == "Sunrise Knitwear"
    with runtime.session() as session:
        told = case_service.narrative(session, runtime.vault, case)
    assert STORY in told


def test_a_short_complaint_first_is_not_taken_for_a_name(runtime: Runtime) -> None:
    """ "Unpaid overtime" names a grievance (wages), not a workplace: the long answer that
    follows is more of the story, and the name is asked once more."""
    assert send(runtime, "Hello") is not None
    assert send(runtime, "1") is not None
    send(runtime, "Unpaid overtime")
    reply = _fits(send(runtime, STORY), 1)
    assert reply.startswith("We added that to your report.") and cases(runtime) == []
