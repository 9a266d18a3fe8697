"""Messages from one sender arriving at the same time: each is applied once, none is lost."""

from __future__ import annotations

import threading

from app.cases import service as case_service
from app.intake.conversation import handle_inbound
from app.runtime import Runtime
from tests.intake.helpers import GB, cases, inbound, messages, send


def test_simultaneous_messages_from_one_sender_all_land(runtime: Runtime) -> None:
    send(runtime, "hello")
    send(runtime, "1")  # English; "What happened?" was asked
    parts = [f"Part {i}: the night shift was not paid, week {i}." for i in range(4)]
    start = threading.Barrier(len(parts))
    errors: list[BaseException] = []

    def deliver(text: str) -> None:
        try:
            start.wait()
            with runtime.session() as session:
                handle_inbound(session, runtime.vault, inbound(text, sender=GB))
                session.commit()
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=deliver, args=(p,)) for p in parts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    [case] = cases(runtime)  # narrative, then workplace, then the rest joined the case
    with runtime.session() as session:
        kept = [
            case_service.narrative(session, runtime.vault, case) or "",
            case_service.workplace_text(session, runtime.vault, case) or "",
        ]
        kept += [
            case_service.message_body(session, runtime.vault, case, m)
            for m in messages(runtime, case)
        ]
    for part in parts:
        assert sum(part in text for text in kept) == 1, part
