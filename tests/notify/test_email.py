"""Alert e-mails reach a real SMTP server (aiosmtpd on 127.0.0.1) through the outbox:
references and what happened, never the case's content; one digest a day; retried while
the server is down; never sent twice."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlmodel import col, select

from app import worker
from app.accounts.models import User
from app.cases import service
from app.cases.models import Case
from app.messaging.models import OutboxItem
from app.messaging.outbox import claim
from app.notify.models import StaffAlert
from app.runtime import Runtime
from app.timeutil import utcnow
from tests.cases.world import NARRATIVE, REPORTER_SAYS, SECRETS, World, build

DAY = 86400.0


@dataclass
class Inbox:
    """What the SMTP server was handed."""

    mails: list[EmailMessage] = field(default_factory=list)
    rcpts: list[list[str]] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        mail = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        self.mails.append(mail)
        self.rcpts.append(list(envelope.rcpt_tos))
        return "250 OK"

    def text(self, mail: EmailMessage) -> str:
        body = mail.get_body(("plain",))
        assert body is not None
        return f"{mail['Subject']}\n{body.get_content()}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start(inbox: Inbox, port: int) -> Controller:
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller


@pytest.fixture
def port() -> int:
    return _free_port()


@pytest.fixture
def mailed(runtime: Runtime, port: int) -> Runtime:
    """The runtime with GRIEVANCE_SMTP_URL pointing at `port`."""
    url = f"smtp://127.0.0.1:{port}?from=alerts@grievance.example.org"
    settings = runtime.settings.model_copy(update={"smtp_url": url})
    return Runtime(
        settings=settings, engine=runtime.engine, vault=runtime.vault, clock=runtime.clock
    )


@pytest.fixture
def smtp_server(port: int) -> Iterator[Inbox]:
    inbox = Inbox()
    controller = _start(inbox, port)
    yield inbox
    controller.stop()


def _work(runtime: Runtime, rounds: int = 3) -> None:
    for _ in range(rounds):
        worker.run_once(runtime)


def _reporter_writes(runtime: Runtime, case: Case, text: str = REPORTER_SAYS) -> None:
    with runtime.session() as session:
        row = session.get_one(Case, case.id)
        service.add_reporter_message(session, runtime.vault, case=row, body=text, channel="sms")
        session.commit()


def _choose(runtime: Runtime, user: User, choice: str) -> None:
    with runtime.session() as session:
        row = session.get_one(User, user.id)
        row.alert_email = choice
        session.add(row)
        session.commit()


def _emails(runtime: Runtime) -> list[OutboxItem]:
    with runtime.session() as session:
        return list(
            session.exec(
                select(OutboxItem)
                .where(OutboxItem.channel == "email")
                .order_by(col(OutboxItem.created_at))
            ).all()
        )


def _only_awaj_monitor(runtime: Runtime, world: World) -> None:
    """Everyone but awaj's monitor asks for no e-mail, so the server sees only theirs."""
    for role, user in world.users.items():
        if role != "monitor":
            _choose(runtime, user, "none")


def _no_content(text: str, world: World) -> None:
    for secret in (*SECRETS, NARRATIVE, world.place.name, "Star Garments"):
        assert secret not in text, secret


def test_an_alert_arrives_by_email_without_case_content(
    mailed: Runtime, smtp_server: Inbox
) -> None:
    world = build(mailed)
    _only_awaj_monitor(mailed, world)
    _work(mailed)
    routed = len(smtp_server.mails)
    assert routed == 3  # case_a and case_c routed to awaj, and case_a's reporter message

    _reporter_writes(mailed, world.case_a, "the manager Karim hit me on line 4")
    _work(mailed)
    assert len(smtp_server.mails) == routed + 1
    mail = smtp_server.mails[-1]
    assert smtp_server.rcpts[-1] == ["m@awaj.example"]
    assert mail["From"] == "alerts@grievance.example.org"
    text = smtp_server.text(mail)
    assert world.case_a.reference in text and "the reporter replied" in text
    assert "https://grievance.example.org/console/alerts" in text
    _no_content(text, world)
    assert "Karim" not in text and "line 4" not in text
    for earlier in smtp_server.mails:
        _no_content(smtp_server.text(earlier), world)
    assert {i.state for i in _emails(mailed)} == {"sent"}
    _work(mailed)
    assert len(smtp_server.mails) == routed + 1  # never twice


def test_the_daily_digest_groups_a_days_alerts_into_one_mail(
    mailed: Runtime, smtp_server: Inbox
) -> None:
    world = build(mailed)
    _only_awaj_monitor(mailed, world)
    _choose(mailed, world.users["monitor"], "daily")
    _reporter_writes(mailed, world.case_a)
    _reporter_writes(mailed, world.case_c)
    _work(mailed)
    assert smtp_server.mails == []  # the day is not over

    now = utcnow()
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=5, second=0, microsecond=0)
    mailed.clock.advance((midnight - now).total_seconds())
    _work(mailed)
    assert len(smtp_server.mails) == 1
    text = smtp_server.text(smtp_server.mails[0])
    assert world.case_a.reference in text and world.case_c.reference in text
    assert text.count("the reporter replied") == 3  # case_a twice (world + now), case_c once
    assert "a new case was routed to your partner" in text
    assert "[Grievance Desk] 5 alerts" in text  # 2 routed, 3 replies
    _no_content(text, world)
    with mailed.session() as session:
        pending = session.exec(
            select(StaffAlert).where(
                StaffAlert.user_id == world.users["monitor"].id,
                col(StaffAlert.email_id).is_(None),
            )
        ).all()
        assert pending == []

    mailed.clock.advance(DAY)  # the next day: nothing new happened, so no mail
    _work(mailed)
    assert len(smtp_server.mails) == 1


def test_smtp_down_is_retried_later_and_not_lost(mailed: Runtime, port: int) -> None:
    world = build(mailed)
    _only_awaj_monitor(mailed, world)
    _work(mailed)  # nothing listens on the port
    items = _emails(mailed)
    assert len(items) == 3
    assert {i.state for i in items} == {"pending"}
    assert all(i.attempts == 1 and i.last_error for i in items)
    assert all(i.next_attempt_at > utcnow() for i in items)

    inbox = Inbox()
    controller = _start(inbox, port)
    try:
        mailed.clock.advance(60)  # past the first back-off
        _work(mailed)
        assert len(inbox.mails) == 3
        assert {i.state for i in _emails(mailed)} == {"sent"}
        mailed.clock.advance(3600)
        _work(mailed)
        assert len(inbox.mails) == 3
    finally:
        controller.stop()


def test_an_email_whose_outcome_is_unknown_is_not_sent_again(
    mailed: Runtime, smtp_server: Inbox
) -> None:
    world = build(mailed)
    _only_awaj_monitor(mailed, world)
    from app.notify.jobs import alerts

    alerts(mailed)  # the alerts and their e-mails, not yet sent
    now = utcnow()
    handled, sends = claim(mailed, now)  # claimed `sending`; then the sender dies
    assert len(sends) == 3 and handled == 4  # and the SMS to the reporter (no Twilio here)
    later = now + timedelta(seconds=mailed.settings.outbox_lease_seconds + 1)
    claim(mailed, later)
    assert {i.state for i in _emails(mailed)} == {"unknown"}
    mailed.clock.advance(mailed.settings.outbox_lease_seconds * 3)
    _work(mailed)
    assert smtp_server.mails == []


def test_without_smtp_alerts_stay_in_the_inbox(runtime: Runtime) -> None:
    world = build(runtime)
    _work(runtime)
    assert _emails(runtime) == []
    with runtime.session() as session:
        mine = session.exec(
            select(StaffAlert).where(StaffAlert.user_id == world.users["monitor"].id)
        ).all()
        assert len(mine) == 3 and all(a.email_id is None for a in mine)


def test_a_password_is_never_sent_without_tls() -> None:
    """A remote server that offers no STARTTLS gets no login: the mail waits, unsent."""
    import smtplib as _smtplib
    from unittest import mock

    from channels import smtp

    target = smtp.SmtpTarget(
        host="mail.example.org", port=25, tls=False, user="u", password="p", sender="a@b.c"
    )
    client = mock.MagicMock(spec=_smtplib.SMTP)
    client.has_extn.return_value = False
    with mock.patch.object(_smtplib, "SMTP", return_value=client):
        result = smtp.send(target, smtp.build(target, to="x@y.z", subject="s", body="b"))
    assert not result.accepted and result.retryable and result.error == "smtp_no_starttls"
    client.login.assert_not_called()


def _prefer(runtime: Runtime, user: User, language: str, zone: str | None) -> None:
    with runtime.session() as session:
        row = session.get_one(User, user.id)
        row.language, row.time_zone = language, zone
        session.add(row)
        session.commit()


def test_an_alert_email_is_in_the_language_and_zone_the_addressee_chose(
    mailed: Runtime, smtp_server: Inbox
) -> None:
    world = build(mailed)
    _only_awaj_monitor(mailed, world)
    _prefer(mailed, world.users["monitor"], "fr", "Asia/Dhaka")
    _work(mailed)
    _reporter_writes(mailed, world.case_a)
    _work(mailed)
    text = smtp_server.text(smtp_server.mails[-1])
    assert f"[Grievance Desk] Dossier {world.case_a.reference} : la personne a répondu" in text
    assert "Alertes Grievance Desk concernant vos dossiers :" in text
    assert "Lisez-les dans la console : https://grievance.example.org/console/alerts" in text
    assert "(actuellement : tout de suite, un e-mail par alerte)" in text
    assert "Asia/Dhaka" in text and "UTC" not in text
    assert "the reporter replied" not in text and "Read them" not in text
    with mailed.session() as session:
        alert = session.exec(
            select(StaffAlert)
            .where(StaffAlert.user_id == world.users["monitor"].id)
            .order_by(col(StaffAlert.event_seq).desc())
        ).first()
        assert alert is not None
    dhaka = alert.created_at + timedelta(hours=6)  # UTC+6, no daylight saving
    assert f"{dhaka:%Y-%m-%d %H:%M} Asia/Dhaka  {world.case_a.reference}" in text
    _no_content(text, world)


def test_a_digest_in_arabic_counts_its_alerts_in_arabic_plural(
    mailed: Runtime, smtp_server: Inbox
) -> None:
    world = build(mailed)
    _only_awaj_monitor(mailed, world)
    _choose(mailed, world.users["monitor"], "daily")
    _prefer(mailed, world.users["monitor"], "ar", None)
    _reporter_writes(mailed, world.case_a)
    _reporter_writes(mailed, world.case_c)
    _work(mailed)
    now = utcnow()
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=5, second=0, microsecond=0)
    mailed.clock.advance((midnight - now).total_seconds())
    _work(mailed)
    (mail,) = smtp_server.mails
    text = smtp_server.text(mail)
    assert "[Grievance Desk] 5 تنبيهات" in text  # 3 to 10: the "few" form
    assert text.count("ردّ صاحب البلاغ") == 3 and "وُجّهت قضية جديدة إلى شريككم" in text
    assert "(حاليًا: مرة في اليوم، ملخص واحد)" in text
    assert "Asia/Dhaka" in text  # no zone chosen: the partner's country's (BD)
    _no_content(text, world)
