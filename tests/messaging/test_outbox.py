"""The relay: staff message -> outbox -> sender -> a local stand-in of Twilio and Graph
over real HTTP, with retries, bounded attempts, opt-outs, missing credentials and the
WhatsApp 24-hour window."""

from __future__ import annotations

import base64
import itertools
import threading
import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from app.runtime import Runtime
from app.worker import run_once
from tests.factories import auth
from tests.messaging.helpers import (
    delivery_states,
    outbox,
    reporter_with_case,
    run_sender,
    set_reporter,
    write_to_reporter,
)
from tests.messaging.standin import StandIn
from tests.webhooks.providers import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    PUBLIC_URL,
    SMS_FROM,
    twilio_request,
    twilio_status,
)

ADDRESS = "+8801711223344"


def status_callback(client: TestClient, sid: str, status: str, code: str | None = None) -> int:
    body, headers = twilio_request("/channels/twilio/status", twilio_status(sid, status, code))
    return client.post("/channels/twilio/status", content=body, headers=headers).status_code


@pytest.mark.usefixtures("wired")
def test_a_staff_message_reaches_twilio_and_its_statuses_come_back(
    client: TestClient, runtime: Runtime, standin: StandIn, admin_token: str
) -> None:
    _, case = reporter_with_case(runtime)
    accepted = write_to_reporter(client, admin_token, case, "We visited the factory today.")
    assert accepted["delivery_state"] == "pending"
    assert run_sender(runtime) == 1
    [sent] = standin.of("twilio")
    assert sent.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert sent.form == {
        "To": ADDRESS,
        "From": SMS_FROM,
        "Body": "We visited the factory today.",
        "StatusCallback": PUBLIC_URL + "/channels/twilio/status",
    }
    basic = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    assert sent.headers["authorization"] == "Basic " + basic
    assert delivery_states(client, admin_token, case) == ["sent"]
    assert run_sender(runtime) == 0  # nothing is sent twice

    [item] = outbox(runtime)
    assert item.provider_message_id and item.attempts == 1 and item.sent_at is not None
    sid = item.provider_message_id
    assert status_callback(client, sid, "delivered") == 200
    assert status_callback(client, sid, "sent") == 200  # late, out of order: ignored
    assert status_callback(client, sid, "failed", "30003") == 200  # weaker than delivered
    assert delivery_states(client, admin_token, case) == ["delivered"]
    assert status_callback(client, sid, "read") == 200
    assert delivery_states(client, admin_token, case) == ["read"]
    assert status_callback(client, "SM" + "0" * 32, "delivered") == 200  # unknown id

    history = client.get(f"/api/v1/cases/{case.id}/history", headers=auth(admin_token)).json()
    states = [e["data"]["state"] for e in history if e["action"] == "message.delivery"]
    assert states == ["sent", "delivered", "read"]


@pytest.mark.usefixtures("wired")
def test_undelivered_is_shown_with_its_reason(
    client: TestClient, runtime: Runtime, admin_token: str
) -> None:
    _, case = reporter_with_case(runtime)
    write_to_reporter(client, admin_token, case, "Hello")
    run_sender(runtime)
    [item] = outbox(runtime)
    assert item.provider_message_id
    assert status_callback(client, item.provider_message_id, "undelivered", "30005") == 200
    assert status_callback(client, item.provider_message_id, "delivered") == 200  # terminal
    assert delivery_states(client, admin_token, case) == ["undelivered"]
    assert outbox(runtime)[0].last_error == "twilio_30005"


@pytest.mark.usefixtures("wired")
def test_retryable_failures_back_off_exponentially_then_succeed(
    client: TestClient, runtime: Runtime, standin: StandIn, admin_token: str
) -> None:
    _, case = reporter_with_case(runtime)
    standin.fail_next = [(500, {}), (429, {"code": 20429, "message": "Too Many Requests"})]
    write_to_reporter(client, admin_token, case, "Please call us back")
    run_sender(runtime)
    [item] = outbox(runtime)
    assert item.state == "pending" and item.last_error == "http_500"
    first_wait = (item.next_attempt_at - item.updated_at).total_seconds()
    assert 19 <= first_wait <= 30  # the first retry comes within 30 s
    run_sender(runtime)
    assert len(standin.sent) == 1  # not due yet

    runtime.clock.advance(first_wait + 1)
    run_sender(runtime)
    assert len(standin.sent) == 2
    [item] = outbox(runtime)
    second_wait = (item.next_attempt_at - item.updated_at).total_seconds()
    assert item.last_error == "twilio_20429" and second_wait > first_wait * 2
    runtime.clock.advance(second_wait / 2)
    run_sender(runtime)
    assert len(standin.sent) == 2

    runtime.clock.advance(second_wait)
    run_sender(runtime)
    assert len(standin.sent) == 3
    assert delivery_states(client, admin_token, case) == ["sent"]
    assert outbox(runtime)[0].attempts == 3


@pytest.mark.usefixtures("wired")
def test_attempts_are_bounded_then_failed_is_visible_to_staff(
    client: TestClient, runtime: Runtime, standin: StandIn, admin_token: str
) -> None:
    runtime.settings.outbox_max_attempts = 4
    standin.always_fail = (503, {})
    _, case = reporter_with_case(runtime)
    write_to_reporter(client, admin_token, case, "Hello")
    for _ in range(8):
        run_sender(runtime)
        runtime.clock.advance(3 * 3600)
    assert len(standin.sent) == 4
    [item] = outbox(runtime)
    assert item.state == "failed"
    assert item.last_error == "gave_up_after_4_attempts_http_503"
    assert delivery_states(client, admin_token, case) == ["failed"]


@pytest.mark.usefixtures("wired")
def test_a_refused_message_fails_at_once(
    client: TestClient, runtime: Runtime, standin: StandIn, admin_token: str
) -> None:
    standin.fail_next = [(400, {"code": 21211, "message": "Invalid 'To' Phone Number"})]
    _, case = reporter_with_case(runtime)
    write_to_reporter(client, admin_token, case, "Hello")
    run_sender(runtime)
    runtime.clock.advance(3600)
    run_sender(runtime)
    assert len(standin.sent) == 1
    assert delivery_states(client, admin_token, case) == ["failed"]
    assert outbox(runtime)[0].last_error == "twilio_21211"


@pytest.mark.usefixtures("wired")
def test_a_dead_sender_claim_expires_and_another_sends(
    client: TestClient, runtime: Runtime, standin: StandIn, admin_token: str
) -> None:
    from app.messaging.outbox import claim
    from app.timeutil import utcnow

    _, case = reporter_with_case(runtime)
    write_to_reporter(client, admin_token, case, "Hello")
    handled, sends = claim(runtime, utcnow())  # claimed, then the process "dies"
    assert handled == 1 and len(sends) == 1
    run_sender(runtime)
    assert standin.sent == []  # still leased
    runtime.clock.advance(runtime.settings.outbox_lease_seconds + 1)
    run_sender(runtime)  # Twilio has no such message: sent now, once
    assert len(standin.sent) == 1
    assert delivery_states(client, admin_token, case) == ["sent"]


@pytest.mark.usefixtures("wired")
def test_two_senders_never_send_one_message_twice(
    client: TestClient, runtime: Runtime, standin: StandIn, admin_token: str
) -> None:
    bodies = set()
    for n in range(3):
        _, case = reporter_with_case(runtime, address=f"+88017110000{n:02d}")
        for m in range(12):
            body = f"message {m} to reporter {n}"
            write_to_reporter(client, admin_token, case, body)
            bodies.add(body)
    errors: list[BaseException] = []

    def sender() -> None:
        try:
            deadline = time.monotonic() + 60
            while any(i.state == "pending" for i in outbox(runtime)):
                run_once(runtime)
                assert time.monotonic() < deadline
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    assert errors == []
    sent = [s.form["Body"] for s in standin.of("twilio")]
    assert sorted(sent) == sorted(bodies)  # each exactly once
    assert {i.state for i in outbox(runtime)} == {"sent"}


@pytest.mark.usefixtures("wired")
def test_opted_out_reporters_get_nothing(
    client: TestClient, runtime: Runtime, standin: StandIn, admin_token: str
) -> None:
    reporter, case = reporter_with_case(runtime)
    write_to_reporter(client, admin_token, case, "Queued before STOP")
    set_reporter(runtime, reporter.id, opted_out=True)
    write_to_reporter(client, admin_token, case, "Written after STOP")
    run_sender(runtime)
    runtime.clock.advance(3600)
    run_sender(runtime)
    assert standin.sent == []
    assert delivery_states(client, admin_token, case) == ["opted_out", "opted_out"]


@pytest.mark.usefixtures("wired")
def test_twilio_opt_out_error_marks_the_message_opted_out(
    client: TestClient, runtime: Runtime, standin: StandIn, admin_token: str
) -> None:
    standin.fail_next = [(400, {"code": 21610, "message": "Attempt to send to unsubscribed"})]
    _, case = reporter_with_case(runtime)
    write_to_reporter(client, admin_token, case, "Hello")
    run_sender(runtime)
    assert delivery_states(client, admin_token, case) == ["opted_out"]


@pytest.mark.usefixtures("wired")
def test_without_credentials_messages_wait_and_go_once_configured(
    client: TestClient, runtime: Runtime, standin: StandIn, admin_token: str
) -> None:
    runtime.settings.twilio_sms_from = None
    _, case = reporter_with_case(runtime)
    write_to_reporter(client, admin_token, case, "Kept, not dropped")
    run_sender(runtime)
    runtime.clock.advance(3600)
    run_sender(runtime)
    assert standin.sent == []
    assert delivery_states(client, admin_token, case) == ["no_credentials"]
    [item] = outbox(runtime)
    assert item.attempts == 0 and item.last_error == "no_credentials"

    runtime.settings.twilio_sms_from = SMS_FROM
    runtime.clock.advance(61)
    run_sender(runtime)
    assert [s.form["Body"] for s in standin.sent] == ["Kept, not dropped"]
    assert delivery_states(client, admin_token, case) == ["sent"]


@pytest.mark.usefixtures("wired")
def test_the_sender_is_a_registered_worker_job(
    client: TestClient, runtime: Runtime, standin: StandIn, admin_token: str
) -> None:
    _, case = reporter_with_case(runtime)
    write_to_reporter(client, admin_token, case, "Hello")
    assert run_once(runtime) >= 1
    assert len(standin.sent) == 1


@pytest.mark.usefixtures("wired")
def test_erased_reporters_are_not_sent_to(
    client: TestClient, runtime: Runtime, standin: StandIn, admin_token: str
) -> None:
    from app.audit.service import Actor
    from app.identity.models import Reporter
    from app.identity.service import shred_reporter

    reporter, case = reporter_with_case(runtime)
    write_to_reporter(client, admin_token, case, "Hello")
    with runtime.session() as session:
        row = session.get(Reporter, reporter.id)
        assert row is not None
        shred_reporter(session, runtime.vault, reporter=row, actor=Actor("cli", "test"))
        session.commit()
    run_sender(runtime)
    assert standin.sent == []
    assert delivery_states(client, admin_token, case) == ["failed"]
    assert outbox(runtime)[0].last_error == "reporter_erased"


def test_backoff_grows_and_is_capped() -> None:
    from app.messaging.outbox import backoff

    waits = [backoff(n) for n in range(1, 12)]
    assert timedelta(seconds=20) <= waits[0] <= timedelta(seconds=30)
    assert all(b.total_seconds() > a.total_seconds() * 2 for a, b in itertools.pairwise(waits[:5]))
    assert max(waits) <= timedelta(hours=2.5)


@pytest.mark.usefixtures("wired")
def test_a_send_that_timed_out_is_looked_up_not_resent(
    client: TestClient, runtime: Runtime, standin: StandIn, admin_token: str
) -> None:
    """A provider that hangs: the request may have arrived, so the item waits a lease
    and is then looked up at Twilio, which has it: sent once, with its SID."""
    runtime.settings.outbox_lease_seconds = 2.0  # each send is cut off after 1 s
    standin.delay = lambda: 1.5
    _, case = reporter_with_case(runtime)
    write_to_reporter(client, admin_token, case, "Hello")
    run_sender(runtime)
    assert outbox(runtime)[0].state == "sending" and len(standin.sent) == 1
    standin.delay = lambda: 0.0
    runtime.clock.advance(3)
    run_sender(runtime)
    [item] = outbox(runtime)
    assert len(standin.sent) == 1
    assert item.state == "sent" and item.provider_message_id == standin.created[0]["sid"]


@pytest.mark.usefixtures("wired")
def test_a_whatsapp_message_whose_sender_died_is_unknown_not_resent(
    client: TestClient, runtime: Runtime, standin: StandIn, admin_token: str
) -> None:
    """The Graph API cannot be asked whether it has a message: staff see it may be
    missing rather than the worker getting it twice."""
    from app.messaging.outbox import claim
    from app.timeutil import utcnow

    _, case = reporter_with_case(
        runtime, channel="whatsapp", address="+8801711000555", provider="meta"
    )
    write_to_reporter(client, admin_token, case, "Hello")
    handled, sends = claim(runtime, utcnow())  # claimed, then the process "dies"
    assert handled == 1 and sends[0].provider == "meta"
    runtime.clock.advance(runtime.settings.outbox_lease_seconds + 1)
    run_sender(runtime)
    assert standin.sent == []
    assert delivery_states(client, admin_token, case) == ["unknown"]


@pytest.mark.usefixtures("wired")
def test_a_sender_killed_again_and_again_still_looks_up_and_sends_once(
    client: TestClient, runtime: Runtime, standin: StandIn, admin_token: str
) -> None:
    """Kills are not the provider failing: an item whose senders died more often than
    GRIEVANCE_OUTBOX_MAX_ATTEMPTS is still looked up, then sent once (the CI run of stop
    18 lost two messages to `unknown` after ten kills)."""
    from app.messaging.outbox import claim
    from app.timeutil import utcnow

    runtime.settings.outbox_max_attempts = 2
    _, case = reporter_with_case(runtime)
    write_to_reporter(client, admin_token, case, "Hello")
    for _ in range(4):  # claimed, then the process "dies", four times
        handled, sends = claim(runtime, utcnow())
        assert handled == 1 and len(sends) == 1
        runtime.clock.advance(runtime.settings.outbox_lease_seconds + 1)
    run_sender(runtime)
    assert len(standin.sent) == 1
    assert delivery_states(client, admin_token, case) == ["sent"]


@pytest.mark.usefixtures("wired")
def test_lookups_that_keep_failing_end_as_unknown_not_resent(
    client: TestClient, runtime: Runtime, standin: StandIn, admin_token: str
) -> None:
    from app.messaging.outbox import claim
    from app.timeutil import utcnow

    runtime.settings.outbox_max_attempts = 2
    _, case = reporter_with_case(runtime)
    write_to_reporter(client, admin_token, case, "Hello")
    claim(runtime, utcnow())  # claimed, then the process "dies"
    standin.list_down = True
    for _ in range(3):
        runtime.clock.advance(runtime.settings.outbox_lease_seconds + 1)
        run_sender(runtime)
    assert standin.sent == []
    [item] = outbox(runtime)
    assert item.state == "unknown" and item.last_error == "lookup_failed_not_resent"


@pytest.mark.usefixtures("wired")
def test_a_send_that_waited_past_its_lease_is_left_to_the_sender_that_took_it_over(
    client: TestClient, runtime: Runtime, standin: StandIn, admin_token: str
) -> None:
    """Messages to one reporter go one after another; the last of a long queue may start
    after its lease, when another sender has reclaimed it. The lease is renewed (fenced
    by the attempt) before such a send, so the first sender leaves it alone."""
    import asyncio

    from app.messaging.outbox import claim, send_all
    from app.timeutil import utcnow

    runtime.settings.outbox_lease_seconds = 2.0
    _, case = reporter_with_case(runtime)
    for body in ("first", "second"):
        write_to_reporter(client, admin_token, case, body)
    _, first = claim(runtime, utcnow())  # sender A, then it stalls
    assert len(first) == 2
    runtime.clock.advance(3)
    _, second = claim(runtime, utcnow())  # B reclaims both: looks up, then sends
    asyncio.run(send_all(runtime, second))
    assert sorted(s.form["Body"] for s in standin.of("twilio")) == ["first", "second"]
    time.sleep(0.8)  # A wakes up late in what it thinks is its lease
    asyncio.run(send_all(runtime, first))
    assert sorted(s.form["Body"] for s in standin.of("twilio")) == ["first", "second"]
    assert {i.state for i in outbox(runtime)} == {"sent"}
