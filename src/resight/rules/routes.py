"""Merchandising rules. Changes need the merchandiser role; any role may read.

After a change commits, `app.state.scoring_trigger()` (set by the scoring loop, if running) is
called so that the next scoring cycle starts soon; the trigger debounces bursts of changes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request

from resight.db import utcnow
from resight.deps import MerchandiserDep, RequestIdDep, SessionDep, ViewerDep
from resight.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_id_cursor, page_of
from resight.realtime.feeds import announce_rules_changed
from resight.rules import clearance, service
from resight.rules.models import RuleKind, RuleScope
from resight.rules.preview import preview_rule
from resight.rules.schemas import (
    BoostClearanceOut,
    BoostClearanceRequest,
    ClearanceItem,
    PinRequest,
    PreviewOut,
    PreviewRequest,
    RuleCreate,
    RuleOut,
    RulePatch,
)

router = APIRouter(tags=["rules"])


def _trigger_scoring(request: Request, tasks: BackgroundTasks) -> None:
    # Background tasks run after the response, i.e. after the session committed the change.
    trigger = getattr(request.app.state, "scoring_trigger", None)
    if callable(trigger):
        tasks.add_task(trigger)
    tasks.add_task(announce_rules_changed, request)  # a `rules` message to live dashboards


@router.get("/rules", response_model=Page[RuleOut])
def list_rules(
    session: SessionDep,
    _viewer: ViewerDep,
    kind: RuleKind | None = None,
    scope: RuleScope | None = None,
    scope_value: str | None = None,
    enabled: bool | None = None,
    active: Annotated[bool | None, Query(description="Only rules in effect now (or, if false, not).")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[RuleOut]:
    """Newest first."""
    rows = list(
        service.list_rules(
            session,
            now=utcnow(),
            kind=kind,
            scope=scope,
            scope_value=scope_value,
            enabled=enabled,
            active=active,
            before_id=decode_id_cursor(cursor),
            limit=limit + 1,
        )
    )
    rows, next_cursor = page_of(rows, limit, lambda row: [row.id])
    return Page(items=[RuleOut.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.post("/rules", response_model=RuleOut, status_code=201)
def create_rule(
    body: RuleCreate,
    session: SessionDep,
    user: MerchandiserDep,
    request_id: RequestIdDep,
    request: Request,
    tasks: BackgroundTasks,
) -> RuleOut:
    rule = service.create_rule(session, user.actor(request_id), body.model_dump(), user.user_id)
    _trigger_scoring(request, tasks)
    return RuleOut.model_validate(rule)


@router.post("/rules/pin", response_model=RuleOut, status_code=201)
def pin(
    body: PinRequest,
    session: SessionDep,
    user: MerchandiserDep,
    request_id: RequestIdDep,
    request: Request,
    tasks: BackgroundTasks,
) -> RuleOut:
    """Pin one product at a position (1 = top) until valid_until (or until the rule is removed)."""
    values = {
        "kind": RuleKind.pin,
        "scope": RuleScope.product,
        "scope_value": str(body.item_id),
        "position": body.position,
        "valid_until": body.valid_until,
        "reason": body.reason,
    }
    rule = service.create_rule(session, user.actor(request_id), values, user.user_id)
    _trigger_scoring(request, tasks)
    return RuleOut.model_validate(rule)


@router.post("/rules/boost-clearance", response_model=BoostClearanceOut, status_code=201)
def boost_clearance(
    body: BoostClearanceRequest,
    session: SessionDep,
    user: MerchandiserDep,
    request_id: RequestIdDep,
    request: Request,
    tasks: BackgroundTasks,
) -> BoostClearanceOut:
    """Boost clearance stock (high days of cover or a deep discount; docs/rules.md), optionally
    within one category: one product rule per clearance product."""
    rules, items, skipped, truncated = clearance.boost_clearance(
        session,
        user.actor(request_id),
        now=utcnow(),
        category=body.category,
        strength=body.strength,
        valid_until=body.valid_until,
        reason=body.reason,
        created_by=user.user_id,
    )
    if rules:
        _trigger_scoring(request, tasks)
    return BoostClearanceOut(
        rules=[RuleOut.model_validate(rule) for rule in rules],
        items=[
            ClearanceItem(
                product_id=item.product_id,
                stock=item.stock,
                units_last_7_days=item.units_last_7_days,
                days_of_cover=None if item.days_of_cover is None else round(item.days_of_cover, 1),
                discount_pct=item.discount_pct,
            )
            for item in items
        ],
        already_boosted=skipped,
        truncated=truncated,
    )


@router.post("/rules/preview", response_model=PreviewOut)
def preview(body: PreviewRequest, session: SessionDep, _user: MerchandiserDep) -> PreviewOut:
    """The top of the ranking before and after a proposed rule; nothing is saved. The proposed
    rule appears as rule id 0. 409 while no scoring cycle has produced scores."""
    values = body.model_dump(exclude={"limit"})
    return preview_rule(session, values, limit=body.limit, now=utcnow())


@router.get("/rules/{rule_id}", response_model=RuleOut)
def get_rule(rule_id: int, session: SessionDep, _viewer: ViewerDep) -> RuleOut:
    return RuleOut.model_validate(service.get_rule(session, rule_id))


@router.patch("/rules/{rule_id}", response_model=RuleOut)
def update_rule(
    rule_id: int,
    body: RulePatch,
    session: SessionDep,
    user: MerchandiserDep,
    request_id: RequestIdDep,
    request: Request,
    tasks: BackgroundTasks,
) -> RuleOut:
    """Change only the fields sent (null clears valid_from / valid_until)."""
    changes = body.model_dump(exclude_unset=True)
    rule = service.update_rule(session, user.actor(request_id), rule_id, changes)
    _trigger_scoring(request, tasks)
    return RuleOut.model_validate(rule)


@router.delete("/rules/{rule_id}", response_model=RuleOut)
def delete_rule(
    rule_id: int,
    session: SessionDep,
    user: MerchandiserDep,
    request_id: RequestIdDep,
    request: Request,
    tasks: BackgroundTasks,
) -> RuleOut:
    """Delete a rule; answers with the rule as it was."""
    rule = service.delete_rule(session, user.actor(request_id), rule_id)
    _trigger_scoring(request, tasks)
    return RuleOut.model_validate(rule)
