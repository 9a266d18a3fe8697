"""A shared test world: two partners, two buyers, one user of every role, and cases."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import select

from app.accounts.models import Organisation, User
from app.audit.service import Actor
from app.cases import remediation, service, workflow
from app.cases.models import Case
from app.identity.service import create_reporter
from app.routing.models import RoutingRule, Workplace
from app.runtime import Runtime
from tests.factories import make_case, make_org, make_token, make_user, make_workplace

NARRATIVE = "secret words about the night shift"
PHONE = "+8801711000111"
REPORTER_SAYS = "they locked the fire exit again"
STAFF_SAYS = "thank you, we are looking into it"
NOTE = "internal: the supervisor is the owner's cousin"
STEP_DETAIL = "detail: payment of back wages to the named worker"
WORKER_TEXT = "অগ্নি নির্গমন পথ খোলা থাকবে"
SECRETS = (NARRATIVE, PHONE, REPORTER_SAYS, STAFF_SAYS, NOTE, STEP_DETAIL, WORKER_TEXT)
ROLES = ("admin", "monitor", "other_monitor", "buyer", "other_buyer", "auditor")


@dataclass
class World:
    users: dict[str, User]
    tokens: dict[str, str]
    orgs: dict[str, Organisation]
    place: Workplace
    case_a: Case  # routed to awaj, at acme's supplier, with a conversation
    case_b: Case  # routed to beta
    case_c: Case  # another awaj case at the same workplace (to link)
    step_id: str


def _rule(runtime: Runtime, partner: Organisation, country: str) -> None:
    with runtime.session() as session:
        session.add(RoutingRule(partner_id=partner.id, priority=1, countries=[country]))
        session.commit()


def build(runtime: Runtime) -> World:
    orgs = {
        "awaj": make_org(runtime, slug="awaj"),
        "beta": make_org(runtime, slug="beta", fallback=True),
        "acme": make_org(runtime, slug="acme", kind="buyer"),
        "zeta": make_org(runtime, slug="zeta", kind="buyer"),
    }
    _rule(runtime, orgs["awaj"], "BD")
    _rule(runtime, orgs["beta"], "VN")
    place = make_workplace(runtime, name="Star Garments Ltd", country="BD", buyers=[orgs["acme"]])
    users = {
        "admin": make_user(runtime, email="ad@x.example", role="admin"),
        "monitor": make_user(runtime, email="m@awaj.example", role="monitor", org="awaj"),
        "other_monitor": make_user(runtime, email="m@beta.example", role="monitor", org="beta"),
        "buyer": make_user(runtime, email="b@acme.example", role="buyer", org="acme"),
        "other_buyer": make_user(runtime, email="b@zeta.example", role="buyer", org="zeta"),
        "auditor": make_user(runtime, email="au@x.example", role="auditor"),
    }
    tokens = {role: make_token(runtime, user) for role, user in users.items()}
    with runtime.session() as session:
        reporter = create_reporter(
            session, runtime.vault, channel="sms", address=PHONE, country="BD", language="bn"
        )
        session.flush()
        case_a = make_case(
            runtime,
            narrative=NARRATIVE,
            workplace=place,
            country="BD",
            channel="sms",
            language="bn",
            reporter=reporter,
            session=session,
            category="health_safety",
        )
        service.add_reporter_message(
            session, runtime.vault, case=case_a, body=REPORTER_SAYS, channel="sms"
        )
        monitor = session.get_one(User, users["monitor"].id)
        service.send_to_reporter(
            session, runtime.vault, case=case_a, author=monitor, body=STAFF_SAYS
        )
        workflow.add_note(session, runtime.vault, case=case_a, author=monitor, body=NOTE)
        step = remediation.add_step(
            session,
            runtime.vault,
            case=case_a,
            actor=monitor,
            summary="Fire exits unlocked and checked weekly",
            worker_text=WORKER_TEXT,
            detail=STEP_DETAIL,
        )
        session.commit()
        step_id = str(step.id)
    case_b = make_case(runtime, narrative=NARRATIVE, country="VN")
    case_c = make_case(runtime, workplace=place, country="BD", category="health_safety")
    with runtime.session() as session:
        case_a = session.exec(select(Case).where(Case.id == case_a.id)).one()
    return World(users, tokens, orgs, place, case_a, case_b, case_c, step_id)


TEST_ACTOR = Actor("cli", "test")
