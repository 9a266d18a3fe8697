"""The admin API under /api/v1/admin: organisations, users, workplaces and their buyers,
routing rules and conflict-of-interest exclusions. Admins only (everyone else: 403)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.models import Organisation, Role, User
from app.admin import service
from app.admin.schemas import (
    BuyerLinkIn,
    ExclusionIn,
    ExclusionPublic,
    OrgIn,
    OrgPublic,
    OrgUpdate,
    RuleIn,
    RulePublic,
    UserIn,
    UserPublic,
    UserUpdate,
    WorkplaceIn,
    WorkplacePublic,
)
from app.audit.service import Actor
from app.deps import ApiUser, SessionDep
from app.errors import API_ERRORS, Forbidden, NotFound
from app.routing import service as routing
from app.routing.models import ConflictExclusion, RoutingRule, Workplace

router = APIRouter(prefix="/api/v1/admin", tags=["admin"], responses=API_ERRORS)


def admin_user(user: ApiUser) -> User:
    if user.role != Role.admin:
        raise Forbidden("only admins may use the admin API")
    return user


Admin = Annotated[User, Depends(admin_user)]


def org_public(org: Organisation) -> OrgPublic:
    return OrgPublic.model_validate(org, from_attributes=True)


# organisations ----------------------------------------------------------------------------


@router.get("/organisations", response_model=list[OrgPublic], summary="Partners and buyers")
def list_orgs(_admin: Admin, session: SessionDep) -> list[OrgPublic]:
    orgs = sorted(accounts.organisations(session), key=lambda o: o.slug)
    return [org_public(o) for o in orgs]


@router.post("/organisations", response_model=OrgPublic, status_code=status.HTTP_201_CREATED)
def create_org(payload: OrgIn, admin: Admin, session: SessionDep) -> OrgPublic:
    actor = Actor.user(admin.id)
    org = accounts.create_organisation(
        session, kind=payload.kind, slug=payload.slug, name=payload.name, actor=actor
    )
    service.update_org(
        session,
        org=org,
        changes=payload.model_dump(exclude={"kind", "slug", "name"}),
        actor=actor,
    )
    session.commit()
    return org_public(org)


@router.patch("/organisations/{slug}", response_model=OrgPublic, summary="Deadlines, fallback")
def update_org(slug: str, payload: OrgUpdate, admin: Admin, session: SessionDep) -> OrgPublic:
    org = service.org_or_404(session, slug)
    payload.apply(session, org=org, actor=Actor.user(admin.id))
    session.commit()
    return org_public(org)


# users ------------------------------------------------------------------------------------


def user_public(user: User, slugs: dict[uuid.UUID, str]) -> UserPublic:
    return UserPublic(
        id=user.id,
        email=user.email,
        role=user.role,
        org=slugs.get(user.org_id) if user.org_id else None,
        is_lead=user.is_lead,
        is_active=user.is_active,
        created_at=user.created_at,
    )


@router.get("/users", response_model=list[UserPublic], summary="Staff accounts")
def list_users(_admin: Admin, session: SessionDep) -> list[UserPublic]:
    slugs = accounts.slugs_of(session)
    users = accounts.all_users(session)
    return [user_public(u, slugs) for u in users]


@router.post("/users", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
def create_user(payload: UserIn, admin: Admin, session: SessionDep) -> UserPublic:
    user = accounts.create_user(
        session,
        email=payload.email,
        role=payload.role,
        password=payload.password,
        org_slug=payload.org,
        is_lead=payload.is_lead,
        actor=Actor.user(admin.id),
    )
    session.commit()
    return user_public(user, accounts.slugs_of(session))


@router.patch("/users/{user_id}", response_model=UserPublic, summary="Lead flag, (de)activate")
def update_user(
    user_id: uuid.UUID, payload: UserUpdate, admin: Admin, session: SessionDep
) -> UserPublic:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("no such user")
    payload.apply(session, user=user, actor=Actor.user(admin.id))
    session.commit()
    return user_public(user, accounts.slugs_of(session))


# workplaces -------------------------------------------------------------------------------


def _workplace(session: Session, workplace_id: uuid.UUID) -> Workplace:
    place = session.get(Workplace, workplace_id)
    if place is None:
        raise NotFound("no such workplace")
    return place


def workplace_public(session: Session, place: Workplace) -> WorkplacePublic:
    return WorkplacePublic(
        id=place.id,
        name=place.name,
        country=place.country,
        buyers=service.buyers_of(session, place),
        created_at=place.created_at,
    )


@router.get("/workplaces", response_model=list[WorkplacePublic], summary="Known workplaces")
def list_workplaces(_admin: Admin, session: SessionDep) -> list[WorkplacePublic]:
    places = routing.all_workplaces(session)
    return [workplace_public(session, p) for p in places]


@router.post("/workplaces", response_model=WorkplacePublic, status_code=status.HTTP_201_CREATED)
def create_workplace(payload: WorkplaceIn, admin: Admin, session: SessionDep) -> WorkplacePublic:
    buyers = [service.org_or_404(session, slug, "buyer") for slug in payload.buyers]
    place = service.create_workplace(
        session,
        name=payload.name,
        country=payload.country,
        buyers=buyers,
        actor=Actor.user(admin.id),
    )
    session.commit()
    return workplace_public(session, place)


@router.post(
    "/workplaces/{workplace_id}/buyers",
    response_model=WorkplacePublic,
    status_code=status.HTTP_201_CREATED,
    summary="The buyer sources from this workplace (its staff follow remediation there)",
)
def link_buyer(
    workplace_id: uuid.UUID, payload: BuyerLinkIn, admin: Admin, session: SessionDep
) -> WorkplacePublic:
    place = _workplace(session, workplace_id)
    buyer = service.org_or_404(session, payload.buyer, "buyer")
    service.link_buyer(session, workplace=place, buyer=buyer, actor=Actor.user(admin.id))
    session.commit()
    return workplace_public(session, place)


@router.delete("/workplaces/{workplace_id}/buyers/{buyer}", status_code=status.HTTP_204_NO_CONTENT)
def unlink_buyer(
    workplace_id: uuid.UUID, buyer: str, admin: Admin, session: SessionDep
) -> Response:
    place = _workplace(session, workplace_id)
    org = service.org_or_404(session, buyer, "buyer")
    service.unlink_buyer(session, workplace=place, buyer=org, actor=Actor.user(admin.id))
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# routing rules ----------------------------------------------------------------------------


def rule_public(rule: RoutingRule, slugs: dict[uuid.UUID, str]) -> RulePublic:
    return RulePublic(
        id=rule.id,
        partner=slugs.get(rule.partner_id, str(rule.partner_id)),
        priority=rule.priority,
        countries=rule.countries,
        categories=rule.categories,
        workplaces=rule.workplace_ids,
        buyers=[slugs.get(uuid.UUID(b), b) for b in rule.buyer_ids],
        languages=rule.languages,
        channels=rule.channels,
        is_active=rule.is_active,
        created_at=rule.created_at,
    )


@router.get("/routing/rules", response_model=list[RulePublic], summary="Rules in priority order")
def list_rules(_admin: Admin, session: SessionDep) -> list[RulePublic]:
    rules = routing.routing_rules(session)
    slugs = accounts.slugs_of(session)
    return [rule_public(r, slugs) for r in rules]


@router.post(
    "/routing/rules",
    response_model=RulePublic,
    status_code=status.HTTP_201_CREATED,
    summary="Add a rule (a rule that could never match is refused with the reason)",
)
def add_rule(payload: RuleIn, admin: Admin, session: SessionDep) -> RulePublic:
    partner = service.org_or_404(session, payload.partner)
    buyers = [service.org_or_404(session, slug, "buyer") for slug in payload.buyers]
    rule = routing.add_rule(
        session,
        partner=partner,
        countries=payload.countries,
        categories=payload.categories,
        languages=payload.languages,
        channels=payload.channels,
        workplace_ids=[str(w) for w in payload.workplaces],
        buyer_ids=[str(b.id) for b in buyers],
        priority=payload.priority,
        actor=Actor.user(admin.id),
    )
    session.commit()
    return rule_public(rule, accounts.slugs_of(session))


@router.delete(
    "/routing/rules/{rule_id}",
    response_model=RulePublic,
    summary="Deactivate a rule (kept for the record)",
)
def deactivate_rule(rule_id: uuid.UUID, admin: Admin, session: SessionDep) -> RulePublic:
    rule = session.get(RoutingRule, rule_id)
    if rule is None:
        raise NotFound("no such routing rule")
    routing.deactivate_rule(session, rule=rule, actor=Actor.user(admin.id))
    session.commit()
    return rule_public(rule, accounts.slugs_of(session))


# conflict-of-interest exclusions -----------------------------------------------------------


def exclusion_public(ex: ConflictExclusion, slugs: dict[uuid.UUID, str]) -> ExclusionPublic:
    return ExclusionPublic(
        id=ex.id,
        partner=slugs.get(ex.partner_id, str(ex.partner_id)),
        workplace=ex.workplace_id,
        buyer=slugs.get(ex.buyer_id) if ex.buyer_id else None,
        reason=ex.reason,
        created_at=ex.created_at,
    )


@router.get("/routing/exclusions", response_model=list[ExclusionPublic])
def list_exclusions(_admin: Admin, session: SessionDep) -> list[ExclusionPublic]:
    slugs = accounts.slugs_of(session)
    return [exclusion_public(e, slugs) for e in routing.conflict_exclusions(session)]


@router.post(
    "/routing/exclusions",
    response_model=ExclusionPublic,
    status_code=status.HTTP_201_CREATED,
    summary="The partner never receives cases of this workplace or buyer",
)
def add_exclusion(payload: ExclusionIn, admin: Admin, session: SessionDep) -> ExclusionPublic:
    partner = service.org_or_404(session, payload.partner)
    place = _workplace(session, payload.workplace) if payload.workplace else None
    buyer = service.org_or_404(session, payload.buyer, "buyer") if payload.buyer else None
    exclusion = routing.add_exclusion(
        session,
        partner=partner,
        workplace=place,
        buyer=buyer,
        reason=payload.reason,
        actor=Actor.user(admin.id),
    )
    session.commit()
    return exclusion_public(exclusion, accounts.slugs_of(session))


@router.delete("/routing/exclusions/{exclusion_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_exclusion(exclusion_id: uuid.UUID, admin: Admin, session: SessionDep) -> Response:
    exclusion = session.get(ConflictExclusion, exclusion_id)
    if exclusion is None:
        raise NotFound("no such exclusion")
    routing.remove_exclusion(session, exclusion=exclusion, actor=Actor.user(admin.id))
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
