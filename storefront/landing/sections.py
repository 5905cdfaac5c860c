"""Section types of a landing page: defaults, the HTML sanitiser, the admin's one-line
summary, and what the public template needs at render time. Each type's settings form (its
validation and messages) is in ``landing.forms``.

``Section.settings`` is JSON whose keys depend on ``Section.type``:

- hero {heading, subheading, cta_label}
- product_grid {heading, columns 2..4}; its products are LandingPageProduct rows
- rich_text {html}: sanitised with nh3 on save and again on render
- testimonials {heading, items: [{quote, author}], up to 12}
- faq {heading, items: [{question, answer}], up to 30}
- countdown {heading, deadline}: deadline is an aware UTC ISO 8601 string; entered in the
  merchant's timezone (Company.timezone); the section is hidden from the deadline on
  (ticking in the browser, and server-side at render)
- trust_badges {badges: a subset of BADGES, in BADGES order}
- free_shipping_bar {threshold_cents, currency, message}; "{threshold}" in the message is
  replaced by the formatted amount
- custom_html {html}: sanitised with nh3 on save and again on render
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import nh3
from markupsafe import Markup

from storefront.dates import local_text
from storefront.money import format_money

MAX_HTML = 20_000
MAX_TESTIMONIALS = 12
MAX_FAQ = 30
BADGES = {
    "money_back": "Money-back guarantee",
    "secure_payment": "Secure payment",
    "free_returns": "Free returns",
}
THRESHOLD_PLACEHOLDER = "{threshold}"
# Control characters other than tab and newline: PostgreSQL refuses NUL in text, and none of
# them means anything in a heading or a quote.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

_RICH_TAGS = {
    "a", "b", "blockquote", "br", "em", "h2", "h3", "h4", "hr", "i", "li", "ol", "p", "s",
    "small", "strong", "u", "ul",
}
_CUSTOM_TAGS = _RICH_TAGS | {
    "abbr", "caption", "cite", "code", "dd", "del", "details", "div", "dl", "dt", "figcaption",
    "figure", "h5", "h6", "img", "ins", "mark", "pre", "q", "span", "sub", "summary", "sup",
    "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr",
}
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "time": {"datetime"},
}
# No javascript:, data: or vbscript: URL survives; relative URLs stay.
_URL_SCHEMES = {"http", "https", "mailto", "tel"}


def sanitize_html(markup: str, custom: bool = False) -> str:
    """``markup`` reduced to an allow-list of tags and attributes: no script, style, event
    handler, inline CSS, or javascript:/data: URL. ``custom`` allows the wider custom-HTML
    set (tables, images, details...)."""
    return nh3.clean(
        _CONTROL.sub("", markup or ""),
        tags=_CUSTOM_TAGS if custom else _RICH_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    ).strip()


def parse_deadline(value) -> datetime | None:
    """The stored deadline (aware UTC ISO string) as a datetime, or None when unset or bad."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else None


@dataclass(frozen=True)
class Context:
    """What the admin's summaries need to know about the merchant (and the time, ``now``)."""

    currency: str = "USD"
    timezone: str = "UTC"
    locale: str = "en_US"
    now: datetime | None = None

    @classmethod
    def of(cls, company, now: datetime | None = None) -> Context:
        return cls(company.currency, company.timezone, company.locale, now)


@dataclass(frozen=True)
class SectionType:
    """One kind of section: its ``label`` and ``hint`` for the merchant; ``defaults`` gives
    a new section's settings from the page title. Its settings form is in ``landing.forms``."""

    name: str
    label: str
    hint: str
    defaults: Callable[[str], dict]


TYPES: dict[str, SectionType] = {t.name: t for t in (
    SectionType("hero", "Hero", "A big heading, a line of text and a button to the products.",
                lambda title: {"heading": title, "subheading": "", "cta_label": "Shop now"}),
    SectionType("product_grid", "Product grid", "Products from your catalogue, 2 to 4 per row.",
                lambda title: {"heading": "Products", "columns": 3}),
    SectionType("rich_text", "Rich text", "Paragraphs, headings, lists and links.",
                lambda title: {"html": ""}),
    SectionType("testimonials", "Testimonials", f"Up to {MAX_TESTIMONIALS} customer quotes.",
                lambda title: {"heading": "What customers say", "items": []}),
    SectionType("faq", "FAQ", f"Up to {MAX_FAQ} questions and answers.",
                lambda title: {"heading": "Frequently asked questions", "items": []}),
    SectionType("countdown", "Countdown", "Counts down to a deadline, then disappears.",
                lambda title: {"heading": "Sale ends soon", "deadline": None}),
    SectionType("trust_badges", "Trust badges", "Money-back guarantee, secure payment, free returns.",
                lambda title: {"badges": list(BADGES)}),
    SectionType("free_shipping_bar", "Free-shipping bar", "A banner with your free-shipping threshold.",
                lambda title: {"threshold_cents": None, "currency": None,
                               "message": f"Free shipping on orders over {THRESHOLD_PLACEHOLDER}"}),
    SectionType("custom_html", "Custom HTML", "Your own HTML; scripts and event handlers are removed.",
                lambda title: {"html": ""}),
)}


def summary(section, ctx: Context) -> str:
    """A short description of the section for the admin's list, e.g. "3 products, 4 columns"."""
    s = section.settings or {}
    kind = section.type
    if kind == "product_grid":
        count = len(section.products)
        return f"{count} product{'s' if count != 1 else ''}, {s.get('columns', 3)} columns"
    if kind in ("testimonials", "faq"):
        count = len(s.get("items") or [])
        noun = "quote" if kind == "testimonials" else "question"
        return f"{count} {noun}{'s' if count != 1 else ''}"
    if kind == "countdown":
        deadline = parse_deadline(s.get("deadline"))
        if deadline is None:
            return "No deadline yet: hidden"
        ended = ctx.now is not None and deadline <= ctx.now
        return ("Ended " if ended else "Ends ") + local_text(deadline, ctx.timezone, ctx.locale, with_day=False)
    if kind == "trust_badges":
        return ", ".join(BADGES[b] for b in s.get("badges") or [] if b in BADGES)
    if kind == "free_shipping_bar":
        return free_shipping_text(s, ctx.locale) or "No threshold yet: hidden"
    if kind in ("rich_text", "custom_html"):
        text = re.sub(r"<[^>]*>", " ", s.get("html") or "")
        text = " ".join(text.split())
        return (text[:80] + "…") if len(text) > 80 else (text or "Empty")
    return s.get("heading") or ""


def free_shipping_text(settings: dict, locale: str) -> str | None:
    """The bar's message with the threshold filled in; None until a threshold is set."""
    cents, currency = settings.get("threshold_cents"), settings.get("currency")
    if not isinstance(cents, int) or cents <= 0 or not currency:
        return None
    message = settings.get("message") or f"Free shipping on orders over {THRESHOLD_PLACEHOLDER}"
    return message.replace(THRESHOLD_PLACEHOLDER, format_money(cents, currency, locale))


def section_views(sections: Iterable, company, now: datetime) -> tuple[dict, datetime | None]:
    """What ``landing/_sections.html`` needs beyond the settings, computed at render time.

    Returns ({section id: view}, next change): a countdown's view is {iso, text} while its
    deadline is ahead (None once passed), rich text and custom HTML are re-sanitised
    Markup, a free-shipping bar is its message. The next change is the earliest deadline
    still ahead: a cached rendering must not outlive it.
    """
    views: dict = {}
    next_change = None
    for section in sections:
        s = section.settings or {}
        if section.type == "countdown":
            deadline = parse_deadline(s.get("deadline"))
            if deadline is not None and deadline > now:
                views[section.id] = {
                    "iso": deadline.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "text": local_text(deadline, company.timezone, company.locale),
                }
                next_change = deadline if next_change is None else min(next_change, deadline)
        elif section.type in ("rich_text", "custom_html"):
            views[section.id] = Markup(sanitize_html(s.get("html") or "", custom=section.type == "custom_html"))
        elif section.type == "free_shipping_bar":
            views[section.id] = free_shipping_text(s, company.locale)
    return views, next_change
