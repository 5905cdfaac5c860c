"""The schema comes only from the migrations: the models and the migrations must not drift."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext


def test_models_match_the_migrated_schema(app, db):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models and migrations drift; run `flask db migrate`: {diff}"


def test_the_factory_builds_more_than_one_app(app):
    from storefront import create_app
    from storefront.extensions import limiter

    second = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]})
    limiter.init_app(app)  # the limiter is shared: give it back the test app's storage
    assert second is not app and "htmx" in second.extensions
