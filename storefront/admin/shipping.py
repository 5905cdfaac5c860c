"""Admin screen: shipping & tax (/admin/shipping). Shipping zones in the order checkout
tries them (move up/down), each with its methods (added inline), and deleting either
after a confirmation. The tax rates are in ``admin.tax``.

Every zone and method is fetched with ``get_or_404``: another merchant's id answers 404.
"""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_login import current_user, login_required

from storefront.accounts.scoping import get_or_404
from storefront.htmx import render, toast, wants_fragment
from storefront.inputs import multiline
from storefront.money import format_money
from storefront.pricing import admin_shipping as svc
from storefront.pricing.form_values import FormError
from storefront.pricing.models import ShippingMethod, ShippingZone
from storefront.routing import Routes

routes = Routes()

ZONES = "admin/shipping/zones.html"
ZONE = "admin/shipping/zone.html"
METHOD = "admin/shipping/method.html"
CONFIRM = "admin/shipping/confirm.html"
NEW_METHOD_PREFIX = "new-"


def screen_context(**extra) -> dict:
    """What every shipping & tax template uses: the company, country names, method labels,
    and ``money(cents)`` in the merchant's currency."""
    company = current_user.company
    context = {"company": company, "country_names": svc.COUNTRY_NAMES, "method_labels": svc.METHOD_LABELS,
               "method_field_labels": svc.METHOD_FIELD_LABELS,
               "money": lambda cents: format_money(cents or 0, company.currency, company.locale)}
    context.update(extra)
    return context


@routes.get("/shipping")
@login_required
def shipping():
    """The zones in the order they are tried, with their methods."""
    return render(ZONES, "zone_list", **screen_context(zones=svc.list_zones()))


def _zone_page(zone: ShippingZone | None, status: int = 200, block: str = "zone_form", **extra):
    company = current_user.company
    context = screen_context(
        zone=zone, values=svc.zone_values(zone), errors={}, common=svc.COMMON_COUNTRIES,
        method_values=svc.method_values(None, company.currency), method_errors={}, types=svc.METHOD_LABELS,
        tier_rows=svc.TIER_ROWS, prefix=NEW_METHOD_PREFIX,
    )
    context.update(extra)
    return render(ZONE, block, status=status, **context)


def _done(message: str, target: str, fragment):
    """htmx: the fragment with a toast; otherwise post/redirect/get with a flash."""
    if wants_fragment():
        return toast(fragment(), message, "success")
    flash(message, "success")
    return redirect(target, code=303)


def _invalid(response):
    if wants_fragment():
        toast(response, "Nothing was saved: please correct the fields marked below.", "error")
    return response


@routes.route("/shipping/zones/new", methods=["GET", "POST"])
@login_required
@multiline("states", "postcodes")
def zone_new():
    """The new-zone form; POST creates the zone and opens it to add methods."""
    if request.method == "GET":
        return _zone_page(None)
    try:
        zone = svc.create_zone(current_user.company, request.form)
    except FormError as error:
        return _invalid(_zone_page(None, 422, values=error.values, errors=error.errors))
    message = f"Zone “{zone.name}” created. Add its shipping methods below."
    flash(message, "success")
    target = url_for("admin.zone_edit", zone_id=zone.id)
    if wants_fragment():
        # The new zone's page holds its methods section too: htmx loads it as a whole page.
        return "", 204, {"HX-Redirect": target}
    return redirect(target, code=303)


@routes.route("/shipping/zones/<int:zone_id>", methods=["GET", "POST"])
@login_required
@multiline("states", "postcodes")
def zone_edit(zone_id: int):
    """A zone's regions and its methods; POST saves the regions."""
    zone = get_or_404(ShippingZone, zone_id)
    if request.method == "GET":
        return _zone_page(zone, block="zone_page")
    try:
        svc.update_zone(zone, current_user.company, request.form)
    except FormError as error:
        return _invalid(_zone_page(zone, 422, values=error.values, errors=error.errors))
    return _done("Zone saved. Checkout uses it now.", url_for("admin.zone_edit", zone_id=zone.id),
                 lambda: _zone_page(zone))


@routes.post("/shipping/zones/<int:zone_id>/move")
@login_required
def zone_move(zone_id: int):
    """Move a zone up (tried earlier) or down; the first zone that serves an address wins."""
    zone = get_or_404(ShippingZone, zone_id)
    direction = request.form.get("direction", "")
    moved = svc.move_zone(zone, direction)
    message = f"“{zone.name}” moved {direction}." if moved else f"“{zone.name}” cannot move {direction or 'there'}."
    if wants_fragment():
        response = render(ZONES, "zone_list", **screen_context(zones=svc.list_zones()))
        return toast(response, message, "success" if moved else "info")
    flash(message, "success" if moved else "info")
    return redirect(url_for("admin.shipping"), code=303)


@routes.route("/shipping/zones/<int:zone_id>/delete", methods=["GET", "POST"])
@login_required
def zone_delete(zone_id: int):
    """Delete a zone and its methods. GET, or a POST without ``confirmed`` (no dialog could
    ask with JavaScript off), shows the confirmation page."""
    zone = get_or_404(ShippingZone, zone_id)
    if request.method == "GET" or request.form.get("confirmed") != "yes":
        return render(CONFIRM, "content", **screen_context(
            title=f"Delete the zone “{zone.name}”?", action=url_for("admin.zone_delete", zone_id=zone.id),
            back=url_for("admin.zone_edit", zone_id=zone.id), button="Yes, delete the zone",
            text=f"Its {len(zone.methods)} shipping method(s) go with it. Addresses it served fall to the next "
                 "zone that matches, or cannot be shipped to."))
    name = zone.name
    svc.delete_zone(zone)
    return _done(f"Zone “{name}” deleted.", url_for("admin.shipping"),
                 lambda: render(ZONES, "zone_list", **screen_context(zones=svc.list_zones())))


# ----------------------------------------------------------------------------- methods


@routes.post("/shipping/zones/<int:zone_id>/methods")
@login_required
def method_new(zone_id: int):
    """Add a method to the zone (htmx: inline, the methods section comes back)."""
    zone = get_or_404(ShippingZone, zone_id)
    company = current_user.company
    try:
        method = svc.add_method(zone, company, request.form)
    except FormError as error:
        return _invalid(_zone_page(zone, 422, block="methods", method_values=error.values, method_errors=error.errors))
    return _done(f"Method “{method.name}” added.", url_for("admin.zone_edit", zone_id=zone.id) + "#methods",
                 lambda: _zone_page(zone, block="methods"))


def _method_page(method: ShippingMethod, values: dict, errors: dict, status: int = 200):
    return render(METHOD, "method_form", status=status, **screen_context(
        method=method, zone=method.zone, values=values, errors=errors, types=svc.METHOD_LABELS,
        tier_rows=svc.TIER_ROWS, prefix=""))


@routes.route("/shipping/methods/<int:method_id>", methods=["GET", "POST"])
@login_required
def method_edit(method_id: int):
    """A method's form; POST saves it and returns to its zone."""
    method = get_or_404(ShippingMethod, method_id)
    company = current_user.company
    if request.method == "GET":
        return _method_page(method, svc.method_values(method, company.currency), {})
    try:
        svc.update_method(method, company, request.form)
    except FormError as error:
        return _invalid(_method_page(method, error.values, error.errors, 422))
    return _done(f"Method “{method.name}” saved.", url_for("admin.zone_edit", zone_id=method.zone_id) + "#methods",
                 lambda: _method_page(method, svc.method_values(method, company.currency), {}))


@routes.route("/shipping/methods/<int:method_id>/delete", methods=["GET", "POST"])
@login_required
def method_delete(method_id: int):
    """Delete a method after a confirmation (a page when JavaScript is off)."""
    method = get_or_404(ShippingMethod, method_id)
    zone = method.zone
    if request.method == "GET" or request.form.get("confirmed") != "yes":
        return render(CONFIRM, "content", **screen_context(
            title=f"Delete the method “{method.name}”?", action=url_for("admin.method_delete", method_id=method.id),
            back=url_for("admin.zone_edit", zone_id=zone.id), button="Yes, delete the method",
            text=f"Shoppers in “{zone.name}” will no longer be offered it; carts that chose it get the cheapest "
                 "method left."))
    name = method.name
    svc.delete_method(method)
    return _done(f"Method “{name}” deleted.", url_for("admin.zone_edit", zone_id=zone.id) + "#methods",
                 lambda: _zone_page(zone, block="methods"))

