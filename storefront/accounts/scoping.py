"""The one tenant-scoping helper for admin reads and writes (ARCHITECTURE §3).

Every admin query starts from ``scoped(Model)``; a single object is fetched with
``get_or_404(Model, id)``, which answers 404 (never 403) for another merchant's id, so ids
cannot be probed.
"""
from __future__ import annotations

from flask import abort
from flask_login import current_user
from sqlalchemy import Select

from storefront.extensions import db
from storefront.inputs import optional_int


def current_company_id() -> int:
    """The signed-in user's company id. Aborts with 401 when nobody is signed in."""
    if not current_user.is_authenticated:
        abort(401)
    return current_user.company_id


def scoped(model, *columns) -> Select:
    """``SELECT model`` (or ``columns``) limited to the signed-in user's company."""
    statement = db.select(*columns) if columns else db.select(model)
    return statement.where(model.company_id == current_company_id())


def get_or_404(model, object_id):
    """The object with ``object_id`` if it belongs to the signed-in user's company, else 404."""
    key = optional_int(object_id, 1)
    if key is None:
        abort(404)
    found = db.session.execute(scoped(model).where(model.id == key)).scalar_one_or_none()
    if found is None:
        abort(404)
    return found
