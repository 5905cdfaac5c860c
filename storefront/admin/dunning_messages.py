"""Admin screen: the merchant's dunning message variants (/admin/billing/messages).

A paged list, and create, edit and delete. The variants are written by the merchant and
chosen by rules (``billing.message_variants``) when a plan's ``useMIGeneratedContent`` is
on; no outside AI service is called, and the screen says so. Every variant is fetched with
``get_or_404``: another merchant's id answers 404.
"""
from __future__ import annotations

from flask import request, url_for
from flask_login import current_user, login_required

import storefront.admin.kit as kit
from storefront.accounts.scoping import get_or_404
from storefront.billing import admin_services
from storefront.billing import message_variants as mv
from storefront.billing.forms import MessageVariantForm
from storefront.htmx import render
from storefront.inputs import multiline
from storefront.routing import Routes

routes = Routes()


def _context(**extra) -> dict:
    return {**kit.merchant(current_user.company), "notices": mv.NOTICE_LABELS, "declines": mv.DECLINE_LABELS,
            "histories": mv.HISTORY_LABELS, "placeholders": mv.PLACEHOLDERS, **extra}


@routes.get("/billing/messages")
@login_required
def dunning_messages():
    """The merchant's message variants, by notice then name, with how often each was sent."""
    rows, count = mv.variants_query(current_user.company.id)
    page = kit.paginate(rows, kit.page_number(), count)
    return render("admin/billing/messages.html", "results", **_context(
        page=page, link=kit.list_link("admin.dunning_messages")))


def _form(variant: mv.MessageVariant | None) -> MessageVariantForm:
    form = MessageVariantForm.of(current_user.company, MessageVariantForm.stored(variant) if variant else None)
    form.plan.choices = [(0, "All plans")] + [(plan.id, plan.name) for plan in admin_services.list_plans()]
    return form


def _page(variant, form, status: int = 200):
    return render("admin/billing/message.html", "message_form", status=status,
                  **_context(variant=variant, form=form))


def _save(variant: mv.MessageVariant | None):
    form = _form(variant)
    if request.method == "GET":
        return _page(variant, form)
    if not form.validate():
        return kit.invalid(_page(variant, form, 422))
    saved = mv.save_variant(current_user.company.id, variant, form.fields())
    return kit.done(f"Message “{saved.name}” saved.", url_for("admin.dunning_messages"))


@routes.route("/billing/messages/new", methods=["GET", "POST"])
@login_required
@multiline("body")
def dunning_message_new():
    """A new message variant; POST creates it."""
    return _save(None)


@routes.route("/billing/messages/<int:message_variant_id>", methods=["GET", "POST"])
@login_required
@multiline("body")
def dunning_message_edit(message_variant_id: int):
    """A message variant; POST saves it (the next notice sent uses it)."""
    return _save(get_or_404(mv.MessageVariant, message_variant_id))


@routes.route("/billing/messages/<int:message_variant_id>/delete", methods=["GET", "POST"])
@login_required
def dunning_message_delete(message_variant_id: int):
    """Delete a message variant. GET (or a POST without ``confirmed``) shows the question."""
    variant = get_or_404(mv.MessageVariant, message_variant_id)
    if not kit.confirmed():
        return render("admin/billing/message_delete.html", "content", **_context(variant=variant))
    name = variant.name
    mv.delete_variant(variant)
    return kit.done(f"Message “{name}” deleted.", url_for("admin.dunning_messages"))
