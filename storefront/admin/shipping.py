"""Admin screen: shipping & tax (/admin/shipping). Shipping zones in the order checkout
tries them (move up/down), each with its methods (added inline), and deleting either
after a confirmation. The tax rates are in ``admin.tax``.

Every zone and method is fetched with ``get_or_404``: another merchant's id answers 404.
"""
from __future__ import annotations

from flask import request, url_for
from flask_login import current_user, login_required

import storefront.admin.kit as kit
from storefront.accounts.scoping import get_or_404
from storefront.countries import COUNTRY_NAMES
from storefront.forms import MoveForm
from storefront.htmx import render
from storefront.inputs import multiline
from storefront.money import format_money
from storefront.pricing import admin_shipping as svc
from storefront.pricing.forms import MethodForm, ZoneForm
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
    context = {"company": company, "country_names": COUNTRY_NAMES, "method_labels": svc.METHOD_LABELS,
               "money": lambda cents: format_money(cents or 0, company.currency, company.locale)}
    context.update(extra)
    return context


def _zones_page():
    """The zones' page ``?page=`` (25 a page; a move or delete posts to an address carrying
    the page it was made on, so the answer shows that page again)."""
    rows, count = svc.zone_statements()
    listing = kit.paginate(rows, kit.page_number(), count, row=lambda zone: zone)
    return render(ZONES, "zone_list", **screen_context(listing=listing, link=kit.list_link("admin.shipping")))


def _zones_url() -> str:
    return kit.list_link("admin.shipping")(page=kit.page_number())


@routes.get("/shipping")
@login_required
def shipping():
    """The zones in the order they are tried, with their methods, 25 a page (``?page=``)."""
    return _zones_page()


def _zone_form(zone: ShippingZone | None, fresh: bool = False) -> ZoneForm:
    return ZoneForm.of(current_user.company, ZoneForm.stored(zone), fresh=fresh)


def _method_form(method: ShippingMethod | None, fresh: bool = False) -> MethodForm:
    return MethodForm.of(current_user.company, MethodForm.stored(method), fresh=fresh)


def _zone_page(zone: ShippingZone | None, status: int = 200, block: str = "zone_form", form: ZoneForm | None = None,
               method_form: MethodForm | None = None):
    return render(ZONE, block, status=status, **screen_context(
        zone=zone, form=form or _zone_form(zone, fresh=True), method_form=method_form or _method_form(None, fresh=True),
        prefix=NEW_METHOD_PREFIX))


@routes.route("/shipping/zones/new", methods=["GET", "POST"])
@login_required
@multiline("states", "postcodes")
def zone_new():
    """The new-zone form; POST creates the zone and opens it to add methods."""
    form = _zone_form(None)
    if request.method == "GET":
        return _zone_page(None, form=form)
    if not form.validate():
        return kit.invalid(_zone_page(None, 422, form=form))
    zone = svc.create_zone(current_user.company, form.fields())
    # The new zone's page holds its methods section too: htmx loads it as a whole page.
    return kit.done(f"Zone “{zone.name}” created. Add its shipping methods below.",
                    url_for("admin.zone_edit", zone_id=zone.id))


@routes.route("/shipping/zones/<int:zone_id>", methods=["GET", "POST"])
@login_required
@multiline("states", "postcodes")
def zone_edit(zone_id: int):
    """A zone's regions and its methods; POST saves the regions."""
    zone = get_or_404(ShippingZone, zone_id)
    form = _zone_form(zone)
    if request.method == "GET":
        return _zone_page(zone, block="zone_page", form=form)
    if not form.validate():
        return kit.invalid(_zone_page(zone, 422, form=form))
    svc.update_zone(zone, form.fields())
    return kit.done("Zone saved. Checkout uses it now.", url_for("admin.zone_edit", zone_id=zone.id),
                    lambda: _zone_page(zone))


@routes.post("/shipping/zones/<int:zone_id>/move")
@login_required
def zone_move(zone_id: int):
    """Move a zone up (tried earlier) or down; the first zone that serves an address wins."""
    zone = get_or_404(ShippingZone, zone_id)
    form = MoveForm.of(current_user.company)
    direction = form.direction.data if form.validate() else ""
    moved = bool(direction) and svc.move_zone(zone, direction)
    message = f"“{zone.name}” moved {direction}." if moved else f"“{zone.name}” cannot move {direction or 'there'}."
    return kit.done(message, _zones_url(), _zones_page, level="success" if moved else "info")


@routes.route("/shipping/zones/<int:zone_id>/delete", methods=["GET", "POST"])
@login_required
def zone_delete(zone_id: int):
    """Delete a zone and its methods. GET, or a POST without ``confirmed`` (no dialog could
    ask with JavaScript off), shows the confirmation page."""
    zone = get_or_404(ShippingZone, zone_id)
    if not kit.confirmed():
        return render(CONFIRM, "content", **screen_context(
            title=f"Delete the zone “{zone.name}”?", action=url_for("admin.zone_delete", zone_id=zone.id),
            back=url_for("admin.zone_edit", zone_id=zone.id), button="Yes, delete the zone",
            text=f"Its {len(zone.methods)} shipping method(s) go with it. Addresses it served fall to the next "
                 "zone that matches, or cannot be shipped to."))
    name = zone.name
    svc.delete_zone(zone)
    return kit.done(f"Zone “{name}” deleted.", _zones_url(), _zones_page)


# ----------------------------------------------------------------------------- methods


@routes.post("/shipping/zones/<int:zone_id>/methods")
@login_required
def method_new(zone_id: int):
    """Add a method to the zone (htmx: inline, the methods section comes back)."""
    zone = get_or_404(ShippingZone, zone_id)
    form = _method_form(None)
    if not form.validate():
        return kit.invalid(_zone_page(zone, 422, block="methods", method_form=form))
    method = svc.add_method(zone, form.fields())
    return kit.done(f"Method “{method.name}” added.", url_for("admin.zone_edit", zone_id=zone.id) + "#methods",
                    lambda: _zone_page(zone, block="methods"))


def _method_page(method: ShippingMethod, form: MethodForm, status: int = 200):
    return render(METHOD, "method_form", status=status, **screen_context(
        method=method, zone=method.zone, form=form, prefix=""))


@routes.route("/shipping/methods/<int:method_id>", methods=["GET", "POST"])
@login_required
def method_edit(method_id: int):
    """A method's form; POST saves it and returns to its zone."""
    method = get_or_404(ShippingMethod, method_id)
    form = _method_form(method)
    if request.method == "GET":
        return _method_page(method, form)
    if not form.validate():
        return kit.invalid(_method_page(method, form, 422))
    svc.update_method(method, form.fields())
    return kit.done(f"Method “{method.name}” saved.", url_for("admin.zone_edit", zone_id=method.zone_id) + "#methods",
                    lambda: _method_page(method, _method_form(method, fresh=True)))


@routes.route("/shipping/methods/<int:method_id>/delete", methods=["GET", "POST"])
@login_required
def method_delete(method_id: int):
    """Delete a method after a confirmation (a page when JavaScript is off)."""
    method = get_or_404(ShippingMethod, method_id)
    zone = method.zone
    if not kit.confirmed():
        return render(CONFIRM, "content", **screen_context(
            title=f"Delete the method “{method.name}”?", action=url_for("admin.method_delete", method_id=method.id),
            back=url_for("admin.zone_edit", zone_id=zone.id), button="Yes, delete the method",
            text=f"Shoppers in “{zone.name}” will no longer be offered it; carts that chose it get the cheapest "
                 "method left."))
    name = method.name
    svc.delete_method(method)
    return kit.done(f"Method “{name}” deleted.", url_for("admin.zone_edit", zone_id=zone.id) + "#methods",
                    lambda: _zone_page(zone, block="methods"))
