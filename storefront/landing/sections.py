"""Section types of a landing page: defaults, server-side validation of each settings form,
the admin's one-line summary, and what the public template needs at render time.

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
from decimal import Decimal

import nh3
from markupsafe import Markup

from storefront.dates import local_text, merchant_zone, parse_local
from storefront.money import MoneyError, format_money, minor_units, parse_amount

MAX_HTML = 20_000
MAX_TESTIMONIALS = 12
MAX_FAQ = 30
BADGES = {
    "money_back": "Money-back guarantee",
    "secure_payment": "Secure payment",
    "free_returns": "Free returns",
}
THRESHOLD_PLACEHOLDER = "{threshold}"
# What a form echoes back after an error: everything typed, within reason.
_ECHO_LIMIT = 50_000
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


class SectionInvalid(ValueError):
    """A settings form with errors. ``errors`` maps a field name (``quote-2`` for the third
    row of a list) to a message; ``values`` is what was typed, to show the form again."""

    def __init__(self, errors: dict[str, str], values: dict) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors
        self.values = values


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


# ----------------------------------------------------------------------------- form reading


class _Reader:
    """Reads a submitted form field by field, collecting typed values and errors."""

    def __init__(self, form) -> None:
        self.form = form
        self.values: dict = {}
        self.errors: dict[str, str] = {}

    @staticmethod
    def clean(raw: str | None) -> str:
        text = _CONTROL.sub("", (raw or "").replace("\r\n", "\n").replace("\r", "\n"))
        return text.strip()

    def text(self, name: str, label: str, limit: int, required: bool = False) -> str:
        raw = (self.form.get(name) or "")[:_ECHO_LIMIT]
        self.values[name] = raw
        value = self.clean(raw)
        if required and not value:
            self.errors[name] = f"{label} is required."
        elif len(value) > limit:
            self.errors[name] = f"{label} is too long: {len(value)} characters, at most {limit}."
        return value

    def rows(self, names: tuple[str, str]) -> list[tuple[str, str]]:
        """Parallel lists (``quote``/``author``...) as pairs, in the order submitted."""
        first, second = (self.form.getlist(n) for n in names)
        size = max(len(first), len(second))
        first += [""] * (size - len(first))
        second += [""] * (size - len(second))
        typed = [{names[0]: a[:_ECHO_LIMIT], names[1]: b[:_ECHO_LIMIT]} for a, b in zip(first, second, strict=True)]
        self.values["items"] = typed
        return [(self.clean(a), self.clean(b)) for a, b in zip(first, second, strict=True)]

    def done(self) -> None:
        if self.errors:
            raise SectionInvalid(self.errors, self.values)


@dataclass(frozen=True)
class Context:
    """What validation and display need to know about the merchant."""

    currency: str = "USD"
    timezone: str = "UTC"
    locale: str = "en_US"
    now: datetime | None = None

    @classmethod
    def of(cls, company, now: datetime | None = None) -> Context:
        return cls(company.currency, company.timezone, company.locale, now)


# ----------------------------------------------------------------------------- the types


def _hero(r: _Reader, ctx: Context) -> dict:
    return {
        "heading": r.text("heading", "Heading", 200, required=True),
        "subheading": r.text("subheading", "Subheading", 500),
        "cta_label": r.text("cta_label", "Button label", 60),
    }


def _product_grid(r: _Reader, ctx: Context) -> dict:
    heading = r.text("heading", "Heading", 120)
    raw = r.text("columns", "Columns", 2)
    if raw not in ("2", "3", "4"):
        r.errors["columns"] = "Choose 2, 3 or 4 columns."
    return {"heading": heading, "columns": int(raw) if raw in ("2", "3", "4") else 3}


def _rich_text(r: _Reader, ctx: Context) -> dict:
    return {"html": sanitize_html(r.text("html", "Text", MAX_HTML, required=True))}


def _custom_html(r: _Reader, ctx: Context) -> dict:
    return {"html": sanitize_html(r.text("html", "HTML", MAX_HTML, required=True), custom=True)}


def _pairs(r: _Reader, names, labels, limits, cap, what, second_required) -> list[dict]:
    items = []
    for index, (a, b) in enumerate(r.rows(names)):
        if not a and not b:
            continue
        if not a or (second_required and not b):
            missing = labels[0] if not a else labels[1]
            r.errors[f"{names[0] if not a else names[1]}-{index}"] = f"{missing} is required in row {index + 1}."
        for name, label, limit, value in zip(names, labels, limits, (a, b), strict=True):
            if len(value) > limit:
                r.errors[f"{name}-{index}"] = f"{label} in row {index + 1} is too long: at most {limit} characters."
        items.append({names[0]: a, names[1]: b})
    if len(items) > cap:
        r.errors["items"] = f"At most {cap} {what}: you gave {len(items)}."
    return items


def _testimonials(r: _Reader, ctx: Context) -> dict:
    heading = r.text("heading", "Heading", 120)
    items = _pairs(r, ("quote", "author"), ("Quote", "Author"), (1000, 120), MAX_TESTIMONIALS,
                   "testimonials", second_required=False)
    return {"heading": heading, "items": items}


def _faq(r: _Reader, ctx: Context) -> dict:
    heading = r.text("heading", "Heading", 120)
    items = _pairs(r, ("question", "answer"), ("Question", "Answer"), (300, 3000), MAX_FAQ,
                   "questions", second_required=True)
    return {"heading": heading, "items": items}


def _countdown(r: _Reader, ctx: Context) -> dict:
    heading = r.text("heading", "Heading", 120)
    raw = r.text("deadline", "Deadline", 40, required=True)
    deadline = None
    if raw and "deadline" not in r.errors:
        try:
            deadline = parse_local(raw, merchant_zone(ctx.timezone))
        except ValueError as error:
            r.errors["deadline"] = str(error)
        else:
            if ctx.now is not None and deadline <= ctx.now:
                r.errors["deadline"] = "The deadline has passed: choose a time in the future."
    return {"heading": heading, "deadline": deadline.isoformat() if deadline else None}


def _trust_badges(r: _Reader, ctx: Context) -> dict:
    chosen = [b for b in r.form.getlist("badges") if b in BADGES]
    r.values["badges"] = chosen
    if not chosen:
        r.errors["badges"] = "Choose at least one badge."
    return {"badges": [b for b in BADGES if b in chosen]}


def _free_shipping_bar(r: _Reader, ctx: Context) -> dict:
    raw = r.text("threshold", "Threshold", 20, required=True)
    message = r.text("message", "Message", 200, required=True)
    cents = None
    if raw and "threshold" not in r.errors:
        try:
            cents = parse_amount(raw, ctx.currency)
        except MoneyError:
            r.errors["threshold"] = f"Enter an amount in {ctx.currency}, e.g. 50 or 49.99."
        else:
            if cents <= 0:
                r.errors["threshold"] = "The threshold must be more than zero."
    return {"threshold_cents": cents, "currency": ctx.currency, "message": message}


def _amount_text(cents, currency: str) -> str:
    if not isinstance(cents, int):
        return ""
    return str(Decimal(cents).scaleb(-minor_units(currency)))


@dataclass(frozen=True)
class SectionType:
    """One kind of section: ``parse`` turns a form into settings (recording errors on the
    reader); ``defaults`` gives a new section's settings from the page title."""

    name: str
    label: str
    hint: str
    parse: Callable[[_Reader, Context], dict]
    defaults: Callable[[str], dict]


TYPES: dict[str, SectionType] = {t.name: t for t in (
    SectionType("hero", "Hero", "A big heading, a line of text and a button to the products.",
                _hero, lambda title: {"heading": title, "subheading": "", "cta_label": "Shop now"}),
    SectionType("product_grid", "Product grid", "Products from your catalogue, 2 to 4 per row.",
                _product_grid, lambda title: {"heading": "Products", "columns": 3}),
    SectionType("rich_text", "Rich text", "Paragraphs, headings, lists and links.",
                _rich_text, lambda title: {"html": ""}),
    SectionType("testimonials", "Testimonials", f"Up to {MAX_TESTIMONIALS} customer quotes.",
                _testimonials, lambda title: {"heading": "What customers say", "items": []}),
    SectionType("faq", "FAQ", f"Up to {MAX_FAQ} questions and answers.",
                _faq, lambda title: {"heading": "Frequently asked questions", "items": []}),
    SectionType("countdown", "Countdown", "Counts down to a deadline, then disappears.",
                _countdown, lambda title: {"heading": "Sale ends soon", "deadline": None}),
    SectionType("trust_badges", "Trust badges", "Money-back guarantee, secure payment, free returns.",
                _trust_badges, lambda title: {"badges": list(BADGES)}),
    SectionType("free_shipping_bar", "Free-shipping bar", "A banner with your free-shipping threshold.",
                _free_shipping_bar,
                lambda title: {"threshold_cents": None, "currency": None,
                               "message": f"Free shipping on orders over {THRESHOLD_PLACEHOLDER}"}),
    SectionType("custom_html", "Custom HTML", "Your own HTML; scripts and event handlers are removed.",
                _custom_html, lambda title: {"html": ""}),
)}


def parse_settings(section_type: str, form, ctx: Context) -> dict:
    """Validate ``form`` (a MultiDict) for ``section_type``; returns the settings to store.

    Raises SectionInvalid (errors and what was typed) and KeyError for an unknown type.
    """
    reader = _Reader(form)
    settings = TYPES[section_type].parse(reader, ctx)
    reader.done()
    return settings


def form_values(section_type: str, settings: dict, ctx: Context) -> dict:
    """The settings as the form's field values (the inverse of ``parse_settings``)."""
    values = {k: v for k, v in (settings or {}).items() if isinstance(v, str | int)}
    if section_type in ("testimonials", "faq"):
        values["items"] = [i for i in settings.get("items") or [] if isinstance(i, dict)]
    elif section_type == "countdown":
        deadline = parse_deadline(settings.get("deadline"))
        values["deadline"] = deadline.astimezone(merchant_zone(ctx.timezone)).strftime("%Y-%m-%dT%H:%M") if deadline else ""
    elif section_type == "trust_badges":
        values["badges"] = list(settings.get("badges") or [])
    elif section_type == "free_shipping_bar":
        values["threshold"] = _amount_text(settings.get("threshold_cents"), settings.get("currency") or ctx.currency)
    return values


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
