"""Landing pages, their ordered sections, the products on them, and Visits with their events."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storefront.extensions import db
from storefront.types import JSONType, UTCDateTime, utcnow

SECTION_TYPES = ("hero", "product_grid", "rich_text")


class LandingPage(db.Model):
    """A merchant's landing page at ``/lp/<slug>``; ``status`` is draft or published."""

    __tablename__ = "landing_pages"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    meta_title: Mapped[str | None] = mapped_column(String(200))
    meta_description: Mapped[str | None] = mapped_column(String(400))
    # Preset name plus validated CSS-variable overrides (themes.validation).
    theme: Mapped[dict] = mapped_column(JSONType, default=dict)
    # Unguessable token of the private draft-preview URL.
    preview_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    company = relationship("Company", lazy="joined")
    sections: Mapped[list[Section]] = relationship(
        order_by="Section.position", cascade="all, delete-orphan", back_populates="landing_page"
    )


class SlugRedirect(db.Model):
    """An old slug of a renamed page, answered with a permanent redirect to the page."""

    __tablename__ = "slug_redirects"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    landing_page_id: Mapped[int] = mapped_column(ForeignKey("landing_pages.id", ondelete="CASCADE"), index=True)
    old_slug: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Section(db.Model):
    """One block of a page. ``settings`` is JSON whose keys depend on ``type``:
    hero {heading, subheading, cta_label}; product_grid {heading, columns 2..4};
    rich_text {html, sanitised on save}."""

    __tablename__ = "sections"
    __table_args__ = (Index("ix_sections_page_position", "landing_page_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    landing_page_id: Mapped[int] = mapped_column(ForeignKey("landing_pages.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(Integer, default=1)
    settings: Mapped[dict] = mapped_column(JSONType, default=dict)

    landing_page: Mapped[LandingPage] = relationship(back_populates="sections")
    products: Mapped[list[LandingPageProduct]] = relationship(
        order_by="LandingPageProduct.position", cascade="all, delete-orphan"
    )


class LandingPageProduct(db.Model):
    """A product chosen for a product-grid section, in ``position`` order."""

    __tablename__ = "landing_page_products"
    __table_args__ = (UniqueConstraint("section_id", "product_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    landing_page_id: Mapped[int] = mapped_column(ForeignKey("landing_pages.id", ondelete="CASCADE"), index=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=1)

    product = relationship("Product")
