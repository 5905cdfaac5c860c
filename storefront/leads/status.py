"""The lead status lifecycle: which moves are allowed, enforced in one place.

=============  ====================================================================
From           May move to (by a merchant's user)
=============  ====================================================================
NEW            CONTACTED, ENGAGED, QUALIFIED, NURTURE, LOST, UNQUALIFIED
CONTACTED      ENGAGED, QUALIFIED, NURTURE, LOST, UNQUALIFIED
ENGAGED        CONTACTED, QUALIFIED, OPPORTUNITY, NURTURE, LOST, UNQUALIFIED
QUALIFIED      CONTACTED, OPPORTUNITY, NURTURE, LOST, UNQUALIFIED
OPPORTUNITY    QUALIFIED, NURTURE, LOST
NURTURE        CONTACTED, ENGAGED, QUALIFIED, LOST, UNQUALIFIED
LOST           CONTACTED, NURTURE             (re-opened when the shopper comes back)
UNQUALIFIED    NURTURE                        (re-opened after a second look)
CONVERTED      nothing: it is final
=============  ====================================================================

- Nobody moves a lead back to NEW: NEW only means "nobody has looked at it yet".
- **CONVERTED is set by the system alone**, from any status, when the lead's order is
  placed (``leads.services.convert_lead``); ``change_status`` refuses it.
- Moving to the status a lead already has is a no-op (returns False), so a repeated
  request or a bulk action over mixed rows changes nothing twice.
- Every move records a STATUS_CHANGED activity ``{"from", "to", "by": "user"|"system",
  "user_id"}``.
- The system (the abandonment job) moves a lead with ``system_transition``, which obeys
  the same table and never overrides a status a merchant chose (see ``leads.abandonment``).
"""
from __future__ import annotations

from storefront.extensions import db
from storefront.leads.activities import record_activity
from storefront.leads.models import Lead

STATUSES = ("NEW", "CONTACTED", "ENGAGED", "QUALIFIED", "OPPORTUNITY", "CONVERTED", "LOST",
            "UNQUALIFIED", "NURTURE")
TRANSITIONS: dict[str, frozenset[str]] = {
    "NEW": frozenset({"CONTACTED", "ENGAGED", "QUALIFIED", "NURTURE", "LOST", "UNQUALIFIED"}),
    "CONTACTED": frozenset({"ENGAGED", "QUALIFIED", "NURTURE", "LOST", "UNQUALIFIED"}),
    "ENGAGED": frozenset({"CONTACTED", "QUALIFIED", "OPPORTUNITY", "NURTURE", "LOST", "UNQUALIFIED"}),
    "QUALIFIED": frozenset({"CONTACTED", "OPPORTUNITY", "NURTURE", "LOST", "UNQUALIFIED"}),
    "OPPORTUNITY": frozenset({"QUALIFIED", "NURTURE", "LOST"}),
    "NURTURE": frozenset({"CONTACTED", "ENGAGED", "QUALIFIED", "LOST", "UNQUALIFIED"}),
    "LOST": frozenset({"CONTACTED", "NURTURE"}),
    "UNQUALIFIED": frozenset({"NURTURE"}),
    "CONVERTED": frozenset(),
}
SYSTEM_ONLY = frozenset({"CONVERTED"})


class LeadStatusError(ValueError):
    """A refused status change; ``str(error)`` is a message for the merchant."""


def allowed_transitions(status: str) -> tuple[str, ...]:
    """The statuses a user may move a lead in ``status`` to, in lifecycle order (for the
    admin's select and bulk action)."""
    allowed = TRANSITIONS.get(status, frozenset())
    return tuple(s for s in STATUSES if s in allowed)


def can_change(current: str, new_status: str) -> bool:
    """True when a user may move a lead from ``current`` to ``new_status``."""
    return new_status in TRANSITIONS.get(current, frozenset())


def _check(lead: Lead, new_status: str) -> None:
    if new_status not in STATUSES:
        raise LeadStatusError(f"Unknown status {new_status!r}.")
    if new_status in SYSTEM_ONLY:
        raise LeadStatusError("A lead becomes Converted only when its order is placed.")
    if not can_change(lead.status, new_status):
        raise LeadStatusError(
            f"A {lead.status.title()} lead can't move to {new_status.title()}."
            if lead.status != "CONVERTED" else "A converted lead keeps its status."
        )


def change_status(lead: Lead, new_status: str, by_user=None, *, commit: bool = True) -> bool:
    """Move ``lead`` to ``new_status`` for a merchant's user (``by_user``: a User or None).

    Returns True when it moved, False when it already had that status (a no-op). Raises
    LeadStatusError for an unknown status, CONVERTED, or a move the table above does not
    allow; nothing changes then. The lead row is locked (``FOR UPDATE``) and re-read first,
    so two admins changing it at once are applied one after the other. Records a
    STATUS_CHANGED activity. Commits unless ``commit=False`` (a bulk action's caller then
    commits once). The caller has checked the tenant (``accounts.scoping``).
    """
    locked = db.session.execute(
        db.select(Lead).filter_by(id=lead.id).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    if locked.status == new_status:
        if commit:
            db.session.commit()
        return False
    try:
        _check(locked, new_status)
    except LeadStatusError:
        if commit:
            db.session.rollback()
        raise
    previous = locked.status
    locked.status = new_status
    record_activity(locked, "STATUS_CHANGED", {
        "from": previous, "to": new_status, "by": "user",
        "user_id": getattr(by_user, "id", None),
    })
    if commit:
        db.session.commit()
    return True


def system_transition(lead: Lead, new_status: str, why: str) -> bool:
    """Move ``lead`` for the system (``why`` names the rule), within the table above plus
    CONVERTED from any status but CONVERTED. Returns False (and changes nothing) when the
    move is not allowed or already applied. Does not commit."""
    if lead.status == new_status:
        return False
    allowed = lead.status != "CONVERTED" if new_status == "CONVERTED" else can_change(lead.status, new_status)
    if not allowed:
        return False
    previous = lead.status
    lead.status = new_status
    record_activity(lead, "STATUS_CHANGED", {"from": previous, "to": new_status, "by": "system", "why": why})
    return True
