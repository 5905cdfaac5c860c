"""Admin screen: a page's theme at /admin/pages/<id>/theme.

Pick a preset, edit every variable, and see the real cart drawer (``cart/_drawer.html``)
re-rendered in a preview on each change. The preview's variables come from a stylesheet
(``.../theme/preview.css?<values>``) linked inside the preview block, since the CSP allows
no inline style; without JavaScript a "Preview" button redraws the whole page, unsaved.
Another merchant's page id answers 404 on every route (``get_or_404``).
"""
from __future__ import annotations

import hashlib

from flask import make_response, render_template, request, url_for
from flask_login import current_user, login_required
from jinja2_fragments.flask import render_blocks
from werkzeug.routing import BuildError

import storefront.admin.kit as kit
from storefront.accounts.scoping import get_or_404
from storefront.cart.info import CartInfo, LineInfo
from storefront.htmx import render, wants_fragment
from storefront.landing.models import LandingPage
from storefront.routing import Routes
from storefront.themes.css import contrast_warnings, data_attributes, render_css
from storefront.themes.forms import ThemeForm
from storefront.themes.presets import FONT_STACKS, PRESETS
from storefront.themes.routes import css_response
from storefront.themes.services import page_theme, reset_theme, update_theme
from storefront.themes.validation import LENGTH_UNITS, VARIABLES, ThemeError, partial_theme, resolve

routes = Routes()

TEMPLATE = "admin/themes/editor.html"
SAVED = "Theme saved."


def sample_cart(currency: str) -> CartInfo:
    """A two-line cart to show in the preview drawer (no database rows behind it)."""
    def line(variant_id, title, label, quantity, price):
        return LineInfo(variant_id=variant_id, product_title=title, variant_label=label, sku=None,
                        image_src=None, image_alt="", quantity=quantity, unit_price_cents=price,
                        added_price_cents=price, compare_at_cents=None, available=None)

    return CartInfo(currency=currency, lines=(
        line(1, "Linen Shirt", "Sage / M", 1, 4800),
        line(2, "Canvas Tote", "Natural", 2, 1800),
    ))


def _groups() -> list[tuple[str, list]]:
    groups: dict[str, list] = {}
    for variable in VARIABLES:
        groups.setdefault(variable.group, []).append(variable)
    return list(groups.items())


def _back_url(page: LandingPage) -> str | None:
    # The pages screen is another module; link to it when its endpoint exists.
    for endpoint, args in (("admin.pages_edit", {"page_id": page.id}), ("admin.pages", {})):
        try:
            return url_for(endpoint, **args)
        except BuildError:
            continue
    return None


def _form(theme: dict, fresh: bool = False) -> ThemeForm:
    """The editor's form: the post (on a POST, unless ``fresh``), else ``theme``'s values."""
    return ThemeForm.of(current_user.company, ThemeForm.stored(theme), fresh=fresh)


def _context(page: LandingPage, theme: dict, form: ThemeForm) -> dict:
    """Everything the editor template needs; ``theme`` is valid (normal form)."""
    values = resolve(theme)
    return {
        "page": page,
        "form": form,
        "errors": form.messages(),
        "groups": _groups(),
        "presets": list(PRESETS.values()),
        "font_stacks": FONT_STACKS,
        "preview_attrs": data_attributes(values),
        "preview_css_url": url_for("admin.page_theme_preview_css", page_id=page.id,
                                   preset=theme["preset"], **theme["overrides"]),
        "warnings": contrast_warnings(values),
        "cart": sample_cart(page.company.currency),
        "company": current_user.company,
        "back_url": _back_url(page),
        "saved_preset": PRESETS[page_theme(page)["preset"]],
        "variables": VARIABLES,
        "units": LENGTH_UNITS,
    }


def _editor(page, theme, form, status=200):
    return render(TEMPLATE, "editor", status=status, **_context(page, theme, form))


@routes.get("/pages/<int:page_id>/theme", endpoint="page_theme")
@login_required
def theme_editor(page_id: int):
    """The editor, filled from the saved theme."""
    page = get_or_404(LandingPage, page_id)
    theme = page_theme(page)
    return _editor(page, theme, _form(theme))


@routes.post("/pages/<int:page_id>/theme")
@login_required
def page_theme_save(page_id: int):
    """Validate and save. 422 with every field as typed and one message per bad field."""
    page = get_or_404(LandingPage, page_id)
    form = _form(page_theme(page))
    switched = form.switched_to()
    raw = {"preset": switched, "overrides": {}} if switched else form.raw_theme()
    if switched or form.validate():
        try:
            theme = update_theme(page, raw)
        except ThemeError as error:  # a rule of the whole theme, not of one input
            for name, message in error.errors.items():
                form.fail(name if name in form else None, message)
        else:
            return kit.done(SAVED, url_for("admin.page_theme", page_id=page.id),
                            lambda: _editor(page, theme, _form(theme, fresh=True)))
    return _editor(page, partial_theme(raw)[0], form, status=422)


@routes.post("/pages/<int:page_id>/theme/reset")
@login_required
def page_theme_reset(page_id: int):
    """Drop every override, keeping the preset (the form asks for confirmation first)."""
    page = get_or_404(LandingPage, page_id)
    theme = reset_theme(page)
    return kit.done(f"Theme reset to the {PRESETS[theme['preset']].label} preset.",
                    url_for("admin.page_theme", page_id=page.id),
                    lambda: _editor(page, theme, _form(theme, fresh=True)))


@routes.post("/pages/<int:page_id>/theme/preview")
@login_required
def page_theme_preview(page_id: int):
    """The posted values, unsaved: over htmx the preview block (plus each field's error slot,
    out of band), or the whole editor after a preset switch; else the whole page."""
    page = get_or_404(LandingPage, page_id)
    form = _form(page_theme(page))
    switched = form.switched_to()
    if switched:
        theme = {"preset": switched, "overrides": {}}
        form, status = _form(theme, fresh=True), 200
    else:
        status = 200 if form.validate() else 422
        theme = partial_theme(form.raw_theme())[0]
    targets_preview = request.headers.get("HX-Target") == "theme-preview-panel"
    if not wants_fragment() or switched or not targets_preview:
        response = _editor(page, theme, form, status)
        if switched and wants_fragment():
            response.headers["HX-Retarget"] = "#theme-editor"
            response.headers["HX-Reswap"] = "outerHTML"
        return response
    context = _context(page, theme, form)
    body = render_blocks(TEMPLATE, ["preview"], **context)
    body += render_template("admin/themes/_field_errors.html", **context)
    response = make_response(body, status)
    response.vary.add("HX-Request")
    return response


@routes.get("/pages/<int:page_id>/theme/preview.css")
@login_required
def page_theme_preview_css(page_id: int):
    """The variables of ``?preset=<key>&<name>=<value>...`` scoped to ``.theme-preview``.
    Bad values fall back to the preset's; the output is only ever the normal form."""
    get_or_404(LandingPage, page_id)
    overrides = {k: v for k, v in request.args.items() if k != "preset"}
    theme, _errors = partial_theme({"preset": request.args.get("preset", ""), "overrides": overrides})
    css = render_css(theme, ".theme-preview")
    digest = hashlib.sha256(css.encode()).hexdigest()[:20]
    # The URL holds every value, so a given URL always gets the same CSS.
    return css_response(css, digest, "private, max-age=3600")
