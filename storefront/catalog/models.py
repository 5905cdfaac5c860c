"""Catalogue: Product, Variant, Category and ProductImage. Prices are integer cents in the
company's currency."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    func,
    select,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from storefront.extensions import db
from storefront.media.models import MediaAsset
from storefront.types import JSONType, UTCDateTime, utcnow

product_categories = Table(
    "product_categories",
    db.metadata,
    Column("product_id", ForeignKey("products.id", ondelete="CASCADE"), primary_key=True),
    Column("category_id", ForeignKey("categories.id", ondelete="CASCADE"), primary_key=True),
)


class Category(db.Model):
    """A category; ``parent_id`` gives hierarchies such as Clothing > Tshirts."""

    __tablename__ = "categories"
    __table_args__ = (UniqueConstraint("company_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(200))


class Product(db.Model):
    """A product. ``handle`` is unique per company (Shopify handle, or a slug of the WooCommerce
    name / SKU); ``status`` is active, draft or archived."""

    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("company_id", "handle"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    handle: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(255))
    description_html: Mapped[str] = mapped_column(Text, default="")
    short_description_html: Mapped[str] = mapped_column(Text, default="")
    vendor: Mapped[str | None] = mapped_column(String(255))
    product_type: Mapped[str | None] = mapped_column(String(255))
    tags: Mapped[list] = mapped_column(JSONType, default=list)
    option_names: Mapped[list] = mapped_column(JSONType, default=list)
    # Complementary products the merchant picks for the drawer's one-click upsell.
    upsell_product_ids: Mapped[list] = mapped_column(JSONType, default=list)
    status: Mapped[str] = mapped_column(String(16), default="active")
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    variants: Mapped[list[Variant]] = relationship(
        back_populates="product", order_by="Variant.position", cascade="all, delete-orphan"
    )
    images: Mapped[list[ProductImage]] = relationship(
        order_by="ProductImage.position", cascade="all, delete-orphan"
    )
    categories: Mapped[list[Category]] = relationship(secondary=product_categories)

    @property
    def is_buyable(self) -> bool:
        """True when active, published and at least one variant can be sold."""
        return self.status == "active" and self.published and any(v.in_stock for v in self.variants)


class ProductImage(db.Model):
    """A product's image with its alt text; position 1 is the main image.

    ``src`` is where it came from (the catalogue's URL, or "upload:<file name>"); pages show
    only ``asset``, our stored copy, never ``src``. A remote ``src`` is fetched once by
    ``catalog.images.fetch_image``: ``fetched_at`` says when, ``fetch_error`` why it failed.
    """

    __tablename__ = "product_images"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    src: Mapped[str] = mapped_column(String(1000))
    alt: Mapped[str] = mapped_column(String(500), default="")
    position: Mapped[int] = mapped_column(Integer, default=1)
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("media_assets.id", ondelete="SET NULL"), index=True)
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fetch_error: Mapped[str | None] = mapped_column(String(500))

    asset: Mapped[MediaAsset | None] = relationship()


class Variant(db.Model):
    """A sellable variant. ``options`` maps option name to value, e.g. {"Size": "M"}.

    ``price_cents`` is what the shopper pays; ``compare_at_cents`` above it means on sale.
    ``track_inventory`` False means "continue selling": ``stock`` is then ignored.
    """

    __tablename__ = "variants"
    __table_args__ = (
        UniqueConstraint("company_id", "sku"),
        Index("ix_variants_product_position", "product_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    sku: Mapped[str | None] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(255), default="Default Title")
    options: Mapped[dict] = mapped_column(JSONType, default=dict)
    price_cents: Mapped[int] = mapped_column(Integer)
    compare_at_cents: Mapped[int | None] = mapped_column(Integer)
    track_inventory: Mapped[bool] = mapped_column(Boolean, default=False)
    stock: Mapped[int] = mapped_column(Integer, default=0)
    in_stock_flag: Mapped[bool] = mapped_column(Boolean, default=True)
    grams: Mapped[int | None] = mapped_column(Integer)
    image_src: Mapped[str | None] = mapped_column(String(1000))
    position: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    product: Mapped[Product] = relationship(back_populates="variants")

    @property
    def in_stock(self) -> bool:
        """Sellable now: tracked variants need a unit not held by a shopper paying
        (``available`` > 0), untracked follow the stock-status flag."""
        return self.available > 0 if self.track_inventory else self.in_stock_flag

    @property
    def available(self) -> int | None:
        """Units that can be bought: ``stock`` minus ``reserved`` (the active reservations of
        shoppers paying now), or None when unlimited (not tracked)."""
        return self.available_for(0)

    def available_for(self, held: int) -> int | None:
        """Units a cart that itself holds ``held`` active reserved units of this variant can
        buy: stock minus the other carts' active reservations; None when not tracked. The one
        availability rule: badges, add to cart, the cart's lines and Pay all read it."""
        if not self.track_inventory:
            return None if self.in_stock_flag else 0
        others = max((self.reserved or 0) - held, 0)
        return max(self.stock - others, 0)

    @property
    def on_sale(self) -> bool:
        return bool(self.compare_at_cents and self.compare_at_cents > self.price_cents)

    @property
    def discount_percent(self) -> int:
        """Whole-percent saving against the compare-at price, rounded down; 0 when not on sale."""
        if not self.on_sale:
            return 0
        return (self.compare_at_cents - self.price_cents) * 100 // self.compare_at_cents

    @property
    def label(self) -> str:
        """Human label of the options, e.g. "Blue / M"; empty for a default variant.

        A yes/no value says which option it answers ("Blue / Logo: Yes"), since "Yes" alone
        means nothing to a shopper.
        """
        parts = []
        for name, value in self.options.items():
            if not value:
                continue
            text = str(value)
            parts.append(f"{name}: {text}" if text.lower() in ("yes", "no") else text)
        return " / ".join(parts)


class StockReservation(db.Model):
    """Units of a tracked variant held for one cart while its shopper pays, until
    ``expires_at`` (STOCK_RESERVATION_MINUTES after the last Pay click; Spree holds stock the
    same way). One row per cart and variant; ``cart_version`` is the cart version reserved.

    An expired row no longer counts anywhere; the cron job ``release_reservations`` deletes it.
    The transitions live in ``checkout.reservations``.
    """

    __tablename__ = "stock_reservations"
    __table_args__ = (
        UniqueConstraint("cart_id", "variant_id"),
        CheckConstraint("quantity > 0", name="reservation_quantity_positive"),
        Index("ix_stock_reservations_variant_expires", "variant_id", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id", ondelete="CASCADE"))
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer)
    cart_version: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# Units held by every cart's active reservation, loaded with the variant in the same SELECT
# (no query per variant on a product grid). The clock is read when the statement runs.
Variant.reserved = column_property(
    select(func.coalesce(func.sum(StockReservation.quantity), 0))
    .where(
        StockReservation.variant_id == Variant.id,
        StockReservation.expires_at > bindparam("reservation_now", callable_=utcnow, type_=UTCDateTime()),
    )
    .correlate_except(StockReservation)
    .scalar_subquery()
)
