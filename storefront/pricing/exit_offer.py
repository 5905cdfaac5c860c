"""The exit-intent offer: the merchant's settings, and handing a shopper one code per visit.

``Company.exit_offer`` is JSON: {"enabled": bool, "percent_bp": 100..5000 (1 to 50 %),
"headline": str, "valid_hours": 1..168, "promotion_id": int (set on first use)}.

When a desktop shopper's pointer leaves the window, the page asks for the offer. The server
gives it at most once per visit (remembered as the visit's ``exit_intent_offer`` event, under
a row lock on the visit), and only while the merchant has it enabled. The offer is a
generated single-use PromotionCode of a dedicated, non-automatic "Exit offer" promotion
(PERCENTAGE_OFF, CART scope, not combinable), expiring ``valid_hours`` after it is shown.
When the merchant changes the percentage a new promotion is made, so codes already handed
out keep what they promised. A code that could not be used (the promotion was deactivated,
ended or used up in the promotions admin) is never handed out.

The offer is a promotion, so it lives in pricing; landing's page route asks for it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from storefront.accounts.models import Company
from storefront.dates import local_text
from storefront.extensions import db
from storefront.landing.services import clear_section_cache, published_page
from storefront.money import percent_text
from storefront.pricing.codes import free_codes, is_live
from storefront.pricing.models import Promotion, PromotionCode
from storefront.types import utcnow
from storefront.visits.models import Visit, VisitEvent
from storefront.visits.services import record_event

EVENT = "exit_intent_offer"
MIN_OFFER_BP, MAX_OFFER_BP = 100, 5000  # 1 to 50 %
MAX_OFFER_HOURS = 168
MAX_HEADLINE = 120
DEFAULTS = {"enabled": False, "percent_bp": 1000, "headline": "Before you go: here's a discount", "valid_hours": 24}
# Same alphabet as the admin's generated codes (no 0/O, 1/I/L: typed from a screen).
CODE_PREFIX = "EXIT"


@dataclass(frozen=True)
class ExitOfferSettings:
    """The merchant's settings, with defaults for anything unset or malformed."""

    enabled: bool
    percent_bp: int
    headline: str
    valid_hours: int
    promotion_id: int | None = None


def offer_settings(company: Company) -> ExitOfferSettings:
    """The company's exit-offer settings (``Company.exit_offer``), validated on the way out."""
    raw = company.exit_offer if isinstance(company.exit_offer, dict) else {}

    def whole(name: str, low: int, high: int) -> int:
        value = raw.get(name)
        ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
        return value if ok else DEFAULTS[name]

    headline = raw.get("headline")
    promotion_id = raw.get("promotion_id")
    return ExitOfferSettings(
        enabled=raw.get("enabled") is True,
        percent_bp=whole("percent_bp", MIN_OFFER_BP, MAX_OFFER_BP),
        headline=headline.strip()[:MAX_HEADLINE] if isinstance(headline, str) and headline.strip() else DEFAULTS["headline"],
        valid_hours=whole("valid_hours", 1, MAX_OFFER_HOURS),
        promotion_id=promotion_id if isinstance(promotion_id, int) and not isinstance(promotion_id, bool) else None,
    )


def offer_form_data(company: Company) -> dict:
    """The settings form's values (``ExitOfferForm``) for the current settings."""
    s = offer_settings(company)
    return {"enabled": s.enabled, "percent": s.percent_bp, "headline": s.headline, "valid_hours": s.valid_hours}


def save_exit_offer(company: Company, enabled: bool, percent_bp: int, headline: str,
                    valid_hours: int) -> ExitOfferSettings:
    """Save the settings (validated by ``ExitOfferForm``: ``percent_bp`` 100..5000, a headline
    of at most 120 characters, ``valid_hours`` 1..168) onto ``company`` (the signed-in
    merchant's) and commit; the promotion already made for the offer is kept."""
    stored = {"enabled": enabled, "percent_bp": percent_bp, "headline": headline, "valid_hours": valid_hours}
    current = offer_settings(company)
    if current.promotion_id is not None:
        stored["promotion_id"] = current.promotion_id
    company.exit_offer = stored  # a new dict: JSON columns track assignment, not mutation
    db.session.commit()
    clear_section_cache()  # cached pages hold the company: show the change at once
    return offer_settings(company)


# ----------------------------------------------------------------------------- the shopper's side


@dataclass(frozen=True)
class ExitOffer:
    """What the dialog shows: the code, its percentage, headline and expiry (``expires_text``
    in the merchant's timezone and locale)."""

    code: str
    percent_bp: int
    headline: str
    expires_at: datetime
    expires_text: str

    @property
    def percent(self) -> str:
        return percent_text(self.percent_bp)


def _exit_promotion(company: Company, settings: ExitOfferSettings, now: datetime) -> Promotion | None:
    """The promotion this offer's codes belong to, made on first use or when the percentage
    changed; None when the merchant has deactivated (or ended) it in the promotions admin."""
    promotion = db.session.get(Promotion, settings.promotion_id) if settings.promotion_id else None
    if promotion is not None and promotion.company_id == company.id and promotion.percent_bp == settings.percent_bp:
        return promotion if is_live(promotion, now) else None
    # Lock the company row, so two first offers at the same moment make one promotion.
    db.session.execute(db.select(Company.id).where(Company.id == company.id).with_for_update())
    db.session.refresh(company)
    fresh = offer_settings(company)
    if fresh.promotion_id != settings.promotion_id:  # another request just made it
        return _exit_promotion(company, fresh, now)
    promotion = Promotion(
        company_id=company.id, name=f"Exit offer ({percent_text(settings.percent_bp)} %)", type="PERCENTAGE_OFF",
        scope="CART", automatic=False, code=None, percent_bp=settings.percent_bp, combinable=False, active=True,
        product_ids=[], category_ids=[],
    )
    db.session.add(promotion)
    db.session.flush()
    company.exit_offer = {**(company.exit_offer or {}), "promotion_id": promotion.id}
    return promotion


def _new_code(company_id: int, promotion: Promotion, expires_at: datetime) -> PromotionCode:
    """A fresh single-use code ``EXIT-XXXXXXXX`` (about 40 random bits), unique among the
    merchant's promotion codes and generated codes."""
    for _attempt in range(5):
        [text] = free_codes(company_id, 1, CODE_PREFIX)
        code = PromotionCode(company_id=company_id, promotion_id=promotion.id, code=text, expires_at=expires_at)
        try:
            with db.session.begin_nested():
                db.session.add(code)
        except IntegrityError:
            continue  # the same code made at the same moment elsewhere: draw again
        return code
    raise RuntimeError("could not draw a free exit-offer code in 5 attempts")


def claim_exit_offer(page_slug: str | None, visit_token: str | None, now: datetime | None = None) -> ExitOffer | None:
    """Hand the shopper of ``visit_token`` (the visit cookie) a code, once per visit. Commits.

    None (nothing to show) when there is no such visit, when ``page_slug`` is not a published
    page of the visit's merchant, when the merchant's offer is off or its promotion cannot be
    used, or when this visit already had its offer.
    """
    now = now or utcnow()
    if not visit_token or len(visit_token) > 64 or not page_slug:
        return None
    page = published_page(page_slug)
    # The visit row lock makes "once per visit" hold against two requests at the same moment.
    visit = db.session.execute(db.select(Visit).filter_by(token=visit_token).with_for_update()).scalar_one_or_none()
    if visit is None or page is None or page.company_id != visit.company_id:
        db.session.rollback()
        return None
    company = db.session.get(Company, visit.company_id)
    settings = offer_settings(company)
    already = db.session.execute(db.select(VisitEvent.id).filter_by(visit_id=visit.id, type=EVENT).limit(1)).first()
    if not settings.enabled or already:
        db.session.rollback()
        return None
    promotion = _exit_promotion(company, settings, now)
    if promotion is None:
        db.session.rollback()
        return None
    expires_at = now + timedelta(hours=settings.valid_hours)
    code = _new_code(company.id, promotion, expires_at)
    record_event(visit, EVENT, {"promotion_id": promotion.id, "promotion_code_id": code.id,
                                "percent_bp": settings.percent_bp})
    db.session.commit()
    return ExitOffer(code=code.code, percent_bp=settings.percent_bp, headline=settings.headline,
                     expires_at=expires_at, expires_text=local_text(expires_at, company.timezone, company.locale))

