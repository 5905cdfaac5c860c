"""Admin screen: landing pages (/admin/pages). List, create, edit the details (title, SEO
address, meta title and description), duplicate, publish, unpublish, archive and restore,
and the private preview link. Sections and products are in ``page_sections``.
"""
from __future__ import annotations

from flask import flash, make_response, redirect, request, url_for
from flask_login import current_user, login_required
from jinja2_fragments.flask import render_blocks

import storefront.admin.kit as kit
from storefront.accounts.scoping import get_or_404
from storefront.analytics.experiments import experiment_of_version
from storefront.dates import local_text
from storefront.htmx import render, toast, wants_fragment
from storefront.inputs import multiline
from storefront.landing import builder
from storefront.landing import pages as landing_pages
from storefront.landing.forms import NewPageForm, PageForm, StatusForm
from storefront.landing.models import LandingPage
from storefront.landing.sections import TYPES, Context, summary
from storefront.landing.services import load_sections
from storefront.landing.versions import VERSION_STATUS
from storefront.routing import Routes
from storefront.types import utcnow

routes = Routes()

EDIT = "admin/pages/edit.html"
FILTERS = (("", "All"), ("published", "Published"), ("draft", "Drafts"), ("archived", "Archived"))


def when(moment) -> str:
    """A timestamp in the merchant's timezone, e.g. "Jul 1, 2025 12:00 PM EDT"."""
    company = current_user.company
    return local_text(moment, company.timezone, company.locale, with_day=False) if moment else ""


def _details(page: LandingPage, fresh: bool = False) -> PageForm:
    """The details form: the post on a POST (unless ``fresh``), else the page's details."""
    return PageForm.of(current_user.company, PageForm.stored(page), fresh=fresh)


def edit_context(page: LandingPage, **extra) -> dict:
    """Everything ``admin/pages/edit.html`` and its blocks need; ``extra`` overrides (a
    ``form`` with what was typed)."""
    company = current_user.company
    ctx = Context.of(company, utcnow())
    sections = load_sections(page)
    context = {
        "page": page,
        "company": company,
        "sections": sections,
        "summaries": {s.id: summary(s, ctx) for s in sections},
        "types": TYPES,
        "form": None,
        "section_error": None,
        "focus": None,
        "oob": False,
        "when": when,
        "max_sections": builder.MAX_SECTIONS,
        # An experiment's version of a page: which experiment and variant, for the way back.
        "experiment": experiment_of_version(page.id, page.company_id) if page.status == VERSION_STATUS else None,
    }
    context.update(extra)
    if context["form"] is None:
        context["form"] = _details(page, fresh=True)
    return context


def _to_edit(page: LandingPage, message: str, fragment=None):
    """The editor with ``message``: over htmx ``fragment()`` with a toast (or the editor
    loaded whole), otherwise post/redirect/get."""
    return kit.done(message, url_for("admin.pages_edit", page_id=page.id), fragment)


def _head_and(block: str, page: LandingPage, status: int = 200, **extra):
    """For htmx: ``block`` plus the page head, swapped out of band (title, address and
    status shown there may have changed)."""
    body = render_blocks(EDIT, [block, "page_head"], **edit_context(page, oob=True, **extra))
    response = make_response(body, status)
    response.vary.add("HX-Request")
    return response


@routes.get("/pages")
@login_required
def pages():
    """The merchant's pages with status, address and last update, 25 a page (``?page=``);
    ``?status=`` filters."""
    status = request.args.get("status", "")
    status = status if status in landing_pages.STATUSES else ""
    rows, count = landing_pages.page_statements(status or None)
    listing = kit.paginate(rows, kit.page_number(), count, row=lambda page: page)
    return render("admin/pages/list.html", "page_list", listing=listing, current=status, filters=FILTERS, when=when,
                  link=kit.list_link("admin.pages", status=status or None))


@routes.route("/pages/new", methods=["GET", "POST"])
@login_required
@multiline("meta_description")
def pages_new():
    """The new-page form; POST creates a draft and opens it in the editor."""
    form = NewPageForm.of(current_user.company)
    if request.method == "GET":
        return render("admin/pages/new.html", "new_form", form=form)
    if form.validate():
        try:
            page = landing_pages.create_page(current_user.company, form.title.data, form.slug.data)
        except landing_pages.PageInvalid as invalid:
            for name, message in invalid.errors.items():
                form.fail(name, message)
        else:
            return _to_edit(page, f"Page “{page.title}” created as a draft. Add its sections below.")
    return kit.invalid(render("admin/pages/new.html", "new_form", status=422, form=form))


@routes.get("/pages/<int:page_id>")
@login_required
def pages_edit(page_id: int):
    """The page editor: details, status and sections."""
    page = get_or_404(LandingPage, page_id)
    return render(EDIT, "builder", **edit_context(page))


@routes.post("/pages/<int:page_id>")
@login_required
@multiline("meta_description")
def pages_update(page_id: int):
    """Save the details; a new address keeps the old one as a redirect."""
    page = get_or_404(LandingPage, page_id)
    old_slug = page.slug
    form = _details(page)
    renamed = None
    if form.validate():
        try:
            renamed = landing_pages.update_page(page, form.title.data, form.slug.data, form.meta_title.data,
                                          form.meta_description.data)
        except landing_pages.PageInvalid as invalid:
            for name, message in invalid.errors.items():
                form.fail(name, message)
    if renamed is None:
        if wants_fragment():
            return kit.invalid(_head_and("details", page, status=422, form=form))
        return render(EDIT, "details", status=422, **edit_context(page, form=form))
    message = "Details saved."
    if renamed:
        message = f"Details saved. The old address /lp/{old_slug} now redirects here."
    return _to_edit(page, message, lambda: _head_and("details", page))


@routes.post("/pages/<int:page_id>/duplicate")
@login_required
def pages_duplicate(page_id: int):
    """A draft copy of the page, opened in the editor."""
    page = get_or_404(LandingPage, page_id)
    copy_page = landing_pages.duplicate_page(page)
    return _to_edit(copy_page, f"Copy created as a draft at /lp/{copy_page.slug}.")


STATUS_MESSAGES = {
    ("published", None): "Published: shoppers can see the page now.",
    ("draft", "published"): "Unpublished: shoppers now get “page not found”.",
    ("draft", None): "Restored as a draft.",
    ("archived", None): "Archived: the page is hidden from shoppers.",
}


@routes.post("/pages/<int:page_id>/status")
@login_required
def pages_status(page_id: int):
    """Publish, unpublish (back to draft), archive or restore, from ``status`` in the form."""
    page = get_or_404(LandingPage, page_id)
    form = StatusForm.of(current_user.company)
    wanted = form.status.data
    if not form.validate():
        message = form.status.errors[0]
        if not wants_fragment():
            flash(message, "error")
        return toast(render(EDIT, "page_head", status=422, **edit_context(page)), message, "error")
    before = page.status
    try:
        changed = landing_pages.set_status(page, wanted)
    except landing_pages.BuilderError as error:
        if not wants_fragment():
            flash(str(error), "error")
        return toast(render(EDIT, "page_head", status=409, **edit_context(page)), str(error), "error")
    if changed:
        message = STATUS_MESSAGES.get((wanted, before)) or STATUS_MESSAGES[(wanted, None)]
    else:
        message = f"The page was already {wanted}."
    return _to_edit(page, message, lambda: render(EDIT, "page_head", **edit_context(page)))


@routes.get("/pages/<int:page_id>/preview")
@login_required
def pages_preview(page_id: int):
    """Open the private preview, creating its link on first use."""
    page = get_or_404(LandingPage, page_id)
    token = landing_pages.preview_token(page)
    return redirect(url_for("landing.preview", token=token), code=303)


@routes.post("/pages/<int:page_id>/preview/reset")
@login_required
def pages_preview_reset(page_id: int):
    """A new private preview link; the old one stops working."""
    page = get_or_404(LandingPage, page_id)
    landing_pages.reset_preview_token(page)
    return _to_edit(page, "New preview link made: the old one no longer works.",
                    lambda: render(EDIT, "page_head", **edit_context(page)))


