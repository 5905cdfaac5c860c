"""The page builder's forms (storefront.forms): a page's details, a new page, and one
settings form per section type, each with its validators and messages.

Build one with ``Form.of(company, data)``: the posted form on a POST, else ``data`` (the
stored values by input name; ``fresh=True`` ignores a post). A section's form comes from
``section_form(section, company, now)``, which fills it from the stored settings; after
``validate()``, ``settings()`` gives what ``builder.save_section`` stores (rich text and
custom HTML sanitised, the countdown's deadline as aware UTC ISO 8601, the free-shipping
threshold in minor units of the merchant's currency) and ``notices()`` what the merchant
should know (markup the sanitiser took out).

Rules (sections.py lists each type's settings): a hero needs a heading; a grid shows 2, 3
or 4 columns; testimonials and FAQ are rows of two inputs (``quote``/``author``,
``question``/``answer``) repeated, at most MAX_TESTIMONIALS and MAX_FAQ rows, an empty row
dropped; a countdown's deadline is typed in the merchant's timezone and must be ahead; at
least one trust badge; a free-shipping threshold above zero.
"""
from __future__ import annotations

import re
from datetime import datetime

from wtforms import Field
from wtforms.utils import unset_value

from storefront.forms import (
    OWN_WORDS,
    AdminForm,
    Choice,
    LocalDateTime,
    Many,
    Money,
    MoveForm,
    Paragraphs,
    Required,
    Text,
    ValidationError,
    WholeNumber,
)
from storefront.inputs import DB_INT_MAX
from storefront.landing.builder import MAX_QUERY, clean_query
from storefront.landing.pages import STATUSES, slug_problem
from storefront.landing.sections import (
    BADGES,
    MAX_FAQ,
    MAX_HTML,
    MAX_TESTIMONIALS,
    TYPES,
    parse_deadline,
    sanitize_html,
)

# What the sanitiser will certainly strip; worth telling the merchant about.
_UNSAFE = re.compile(r"<\s*(script|style|iframe|object|embed|form)\b|\bon[a-z]+\s*=|javascript:", re.IGNORECASE)
# What a row echoes back after an error: everything typed, within reason.
ROW_ECHO_LIMIT = 50_000
MAX_THRESHOLD_TEXT = 20


def _one_line(text: str | None) -> str | None:
    """Line breaks and runs of spaces as one space (a meta description is one paragraph)."""
    return " ".join(text.split()) if text else text


def _slug(required: bool):
    """The address's form (``pages.slug_problem``); an empty one is fine unless ``required``."""
    def check(form, field) -> None:
        if field.data or required:
            problem = slug_problem(field.data or "")
            if problem:
                raise ValidationError(problem)
    return check


# ----------------------------------------------------------------------------- pages


class NewPageForm(AdminForm):
    """A new draft: its title and, optionally, its address (made from the title when empty)."""

    title = Text("Title", [Required("Give the page a title.")], max_length=200)
    slug = Text("Address", [_slug(required=False)])  # slug_problem says how long it may be


class PageForm(NewPageForm):
    """A page's details: title, address (required here), meta title and description."""

    slug = Text("Address", [_slug(required=True)])
    meta_title = Text("Meta title", max_length=200)
    meta_description = Paragraphs("Meta description", max_length=400, filters=[_one_line])

    @staticmethod
    def stored(page) -> dict:
        """The form's values for ``page`` as stored."""
        return {"title": page.title, "slug": page.slug, "meta_title": page.meta_title or "",
                "meta_description": page.meta_description or ""}


class AddSectionForm(AdminForm):
    """The type of a section to add at the end of the page."""

    type = Choice("Add a section", choices=[(key, kind.label) for key, kind in TYPES.items()],
                  message="Choose a section type.")


class StatusForm(AdminForm):
    """Publish, unpublish (back to draft), archive or restore: the ``status`` to move to."""

    status = Choice("Status", choices=[(s, s.capitalize()) for s in STATUSES],
                    message="Choose publish, unpublish or archive.")


class GridForm(AdminForm):
    """A change to a grid's products, carrying the catalogue search (``q``) it was made
    from, so the answer without JavaScript goes back to that search."""

    q = Text("Search your catalogue", filters=[clean_query])

    @property
    def query(self) -> str:
        """The search, control characters removed, at most MAX_QUERY characters."""
        return (self.q.data or "")[:MAX_QUERY]


class GridAddForm(GridForm):
    """Add the catalogue product ``product_id`` (an unreadable id is no product: 404)."""

    product_id = WholeNumber("Product", low=1, high=DB_INT_MAX, required=True)


class GridMoveForm(GridForm, MoveForm):
    """Move a grid product one place up or down."""


# ----------------------------------------------------------------------------- sections


class Rows(Field):
    """Rows of two inputs repeated under the same names (``names``, e.g. quote and author),
    read in the order posted. ``data``: the non-empty rows as dicts; ``typed``: every row as
    typed (to show again); ``row_errors``: messages by ``<input>-<row index>``. At most
    ``cap`` rows of ``what``; each input at most its ``limits``; the first input of a row is
    required, the second when ``second_required``."""

    kind = "rows"

    def __init__(self, label=None, validators=None, *, names: tuple[str, str], labels: tuple[str, str],
                 limits: tuple[int, int], cap: int, what: str, second_required: bool, **kwargs) -> None:
        super().__init__(label, validators, **kwargs)
        self.names, self.labels, self.limits = names, labels, limits
        self.cap, self.what, self.second_required = cap, what, second_required
        self.typed: list[dict] = []
        self.row_errors: dict[str, str] = {}

    def process(self, formdata, data=unset_value, extra_filters=None) -> None:
        self.process_errors, self.row_errors = [], {}
        first, second = self.names
        if formdata is not None:
            a, b = formdata.getlist(first), formdata.getlist(second)
            size = max(len(a), len(b))
            a, b = a + [""] * (size - len(a)), b + [""] * (size - len(b))
            self.raw_data = a + b
            self.typed = [{first: x[:ROW_ECHO_LIMIT], second: y[:ROW_ECHO_LIMIT]} for x, y in zip(a, b, strict=True)]
            rows = [(_clean(x), _clean(y)) for x, y in zip(a, b, strict=True)]
        else:
            items = [i for i in (data if data is not unset_value and data else []) if isinstance(i, dict)]
            self.typed = [{first: str(i.get(first) or ""), second: str(i.get(second) or "")} for i in items]
            rows = [(row[first], row[second]) for row in self.typed]
        self.rows = rows
        self.data = [{first: x, second: y} for x, y in rows if x or y]

    def pre_validate(self, form) -> None:
        for index, pair in enumerate(self.rows):
            if not any(pair):
                continue
            first, second = pair
            if not first or (self.second_required and not second):
                name, label = (self.names[0], self.labels[0]) if not first else (self.names[1], self.labels[1])
                self.row_errors[f"{name}-{index}"] = f"{label} is required in row {index + 1}."
            for name, label, limit, value in zip(self.names, self.labels, self.limits, pair, strict=True):
                if len(value) > limit:
                    self.row_errors[f"{name}-{index}"] = \
                        f"{label} in row {index + 1} is too long: at most {limit} characters."
        if len(self.data) > self.cap:
            self.errors.append(f"At most {self.cap} {self.what}: you gave {len(self.data)}.")
        self.errors.extend(self.row_errors.values())


def _clean(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


class SectionForm(AdminForm):
    """A section's settings form. ``now`` (aware UTC) is when it is checked."""

    def __init__(self, *args, now: datetime | None = None, **kwargs) -> None:
        self.now = now
        super().__init__(*args, **kwargs)

    @classmethod
    def stored(cls, settings: dict) -> dict:
        """The form's values for stored ``settings`` (what the inputs show)."""
        return {k: v for k, v in (settings or {}).items() if isinstance(v, str | int)}

    def settings(self) -> dict:
        """The settings to store, from the validated form."""
        return {name: self[name].data for name in self._fields}

    def notices(self) -> list[str]:
        """Notes for the merchant about what was saved."""
        return []


class HeroForm(SectionForm):
    heading = Text("Heading", required=True, max_length=200)
    subheading = Paragraphs("Subheading", max_length=500)
    cta_label = Text("Button label", max_length=60)


class ProductGridForm(SectionForm):
    heading = Text("Heading", max_length=120)
    columns = Choice("Columns", choices=[("2", "2"), ("3", "3"), ("4", "4")], default="3",
                     message="Choose 2, 3 or 4 columns.")

    @classmethod
    def stored(cls, settings: dict) -> dict:
        return {**super().stored(settings), "columns": str((settings or {}).get("columns", 3))}

    def settings(self) -> dict:
        return {"heading": self.heading.data, "columns": int(self.columns.data)}


class _HtmlForm(SectionForm):
    custom = False

    def settings(self) -> dict:
        return {"html": sanitize_html(self.html.data, custom=self.custom)}

    def notices(self) -> list[str]:
        if _UNSAFE.search(self.html.data or ""):
            return ["Some markup was removed: scripts, styles, event handlers and unsafe links are not allowed."]
        return []


class RichTextForm(_HtmlForm):
    html = Paragraphs("Text", required=True, max_length=MAX_HTML)


class CustomHtmlForm(_HtmlForm):
    custom = True
    html = Paragraphs("HTML", required=True, max_length=MAX_HTML)


class _RowsForm(SectionForm):
    heading = Text("Heading", max_length=120)

    @classmethod
    def stored(cls, settings: dict) -> dict:
        return {**super().stored(settings), "items": (settings or {}).get("items") or []}

    def settings(self) -> dict:
        return {"heading": self.heading.data, "items": self.items.data}


class TestimonialsForm(_RowsForm):
    items = Rows("Testimonials", names=("quote", "author"), labels=("Quote", "Author"), limits=(1000, 120),
                 cap=MAX_TESTIMONIALS, what="testimonials", second_required=False)


class FaqForm(_RowsForm):
    items = Rows("Questions", names=("question", "answer"), labels=("Question", "Answer"), limits=(300, 3000),
                 cap=MAX_FAQ, what="questions", second_required=True)


class CountdownForm(SectionForm):
    heading = Text("Heading", max_length=120)
    deadline = LocalDateTime("Deadline", required=True, message=OWN_WORDS)

    @classmethod
    def stored(cls, settings: dict) -> dict:
        return {**super().stored(settings), "deadline": parse_deadline((settings or {}).get("deadline"))}

    def check(self) -> None:
        if self.ok("deadline") and self.now is not None and self.deadline.data <= self.now:
            self.fail("deadline", "The deadline has passed: choose a time in the future.")

    def settings(self) -> dict:
        return {"heading": self.heading.data, "deadline": self.deadline.data.isoformat()}


class TrustBadgesForm(SectionForm):
    badges = Many("Badges to show", [Required("Choose at least one badge.")], choices=list(BADGES.items()),
                  filters=[lambda chosen: [b for b in chosen or () if b in BADGES]])

    @classmethod
    def stored(cls, settings: dict) -> dict:
        return {"badges": list((settings or {}).get("badges") or [])}

    def settings(self) -> dict:
        return {"badges": [b for b in BADGES if b in self.badges.data]}


class FreeShippingBarForm(SectionForm):
    threshold = Money("Threshold", required=True, message="Enter an amount in {currency}, e.g. 50 or 49.99.")
    message = Text("Message", required=True, max_length=200)

    @classmethod
    def stored(cls, settings: dict) -> dict:
        cents = (settings or {}).get("threshold_cents")
        return {**super().stored(settings), "threshold": cents if isinstance(cents, int) else None}

    def check(self) -> None:
        if len(self.threshold.raw) > MAX_THRESHOLD_TEXT:
            self.threshold.errors = [f"Threshold is too long: at most {MAX_THRESHOLD_TEXT} characters."]
        elif self.ok("threshold") and self.threshold.data <= 0:
            self.fail("threshold", "The threshold must be more than zero.")

    def settings(self) -> dict:
        return {"threshold_cents": self.threshold.data, "currency": self.currency, "message": self.message.data}


FORMS: dict[str, type[SectionForm]] = {
    "hero": HeroForm, "product_grid": ProductGridForm, "rich_text": RichTextForm,
    "testimonials": TestimonialsForm, "faq": FaqForm, "countdown": CountdownForm,
    "trust_badges": TrustBadgesForm, "free_shipping_bar": FreeShippingBarForm, "custom_html": CustomHtmlForm,
}


def section_form(section, company, now: datetime | None = None, *, fresh: bool = False) -> SectionForm:
    """The settings form of ``section`` (its type's), filled from its stored settings, or
    the post on a POST (unless ``fresh``); ``now`` for the checks that need the time.
    Raises KeyError for a type without a form."""
    form_class = FORMS[section.type]
    return form_class.of(company, form_class.stored(section.settings or {}), fresh=fresh, now=now)
