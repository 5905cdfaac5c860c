"""The catalogue admin's forms (storefront.forms): a product and its variants.

``ProductEditor.of(company, product)`` builds the product's form (``ProductForm``) and one
``VariantForm`` per variant, each named with the variant's prefix ("v12-price", or
"vnew-price" for a new product's one variant). ``validate()`` checks every input, then the
rules across them: SKUs unique within the product and among the merchant's other products
(``admin_forms.taken_skus``), complementary products among the merchant's own. A refused
form keeps what was typed; ``errors()`` and ``labels()`` feed the error summary.
"""
from __future__ import annotations

import re

from storefront.accounts.scoping import scoped
from storefront.catalog.admin_forms import MAX_DESCRIPTION, MAX_STOCK, MAX_UPSELLS, taken_skus
from storefront.catalog.admin_list import STATUSES
from storefront.catalog.importers import FORMATS
from storefront.catalog.importers.common import paragraphs, sanitize_html
from storefront.catalog.models import Product, Variant
from storefront.extensions import db
from storefront.forms import (
    OWN_WORDS,
    AdminForm,
    Choice,
    Flag,
    Many,
    Money,
    Paragraphs,
    Required,
    Text,
    WholeNumber,
)

MAX_TITLE = 255
MAX_SKU = 120
NEW_PREFIX = "vnew-"


def variant_prefix(variant: Variant | None) -> str:
    """Input-name prefix of a variant's fields: "v12-", or "vnew-" for the new product's."""
    return f"v{variant.id}-" if variant is not None else NEW_PREFIX


class ProductForm(AdminForm):
    """The product's own inputs. ``upsell_shown`` says the complementary-product picker was
    on the form: without it the stored choice is kept (none ticked with it means none)."""

    title = Text("Title", [Required("Enter a title.")], max_length=MAX_TITLE)
    description = Paragraphs("Description", max_length=MAX_DESCRIPTION,
                             too_long="The description is too long: at most {limit:,} characters.")
    status = Choice("Status", choices=[(s, s.capitalize()) for s in STATUSES], default="draft",
                    message="Choose active, draft or archived.")
    published = Flag("Published")
    upsell_shown = Flag()
    upsell = Many("Complementary products", limit=MAX_UPSELLS * 4)

    def __init__(self, *args, product: Product | None = None, **kwargs) -> None:
        self.product = product
        super().__init__(*args, **kwargs)

    def upsell_ids(self) -> list[int] | None:
        """The ticked complementary products' ids in the order listed (after ``validate``);
        None when the form had no picker (keep the stored choice)."""
        if self.product is None or not self.upsell_shown.data:
            return None
        return [int(t) for t in dict.fromkeys(self.upsell.data)]

    def check(self) -> None:
        if self.product is None or not self.upsell_shown.data:
            return
        ticked = list(dict.fromkeys(self.upsell.data))
        if not all(re.fullmatch(r"\d{1,9}", t) for t in ticked):
            self.fail("upsell", "Choose products from the list.")
        elif len(ticked) > MAX_UPSELLS:
            self.fail("upsell", f"Choose at most {MAX_UPSELLS} complementary products: you chose {len(ticked)}.")
        elif str(self.product.id) in ticked:
            self.fail("upsell", "A product can't be its own complementary product.")
        elif ticked:
            ids = [int(t) for t in ticked]
            own = set(db.session.scalars(scoped(Product, Product.id).where(Product.id.in_(ids))))
            if own != set(ids):
                self.fail("upsell", "Some of the chosen products no longer exist. Choose from the list again.")

    def fields(self) -> dict:
        """The product's columns, the description sanitised (no script, no on*=): every later
        rendering may trust it."""
        return {"title": self.title.data, "description_html": sanitize_html(paragraphs(self.description.data)),
                "status": self.status.data, "published": self.published.data}


class VariantForm(AdminForm):
    """One variant's price and stock. Stock is required when inventory is tracked; left
    empty on an untracked variant, the stored count is kept (``fields()["stock"]`` None)."""

    sku = Text("SKU", max_length=MAX_SKU)
    price = Money("Price", [Required("Enter a price, e.g. 19.99.")], message=OWN_WORDS)
    compare_at = Money("Compare-at price", message=OWN_WORDS)
    track = Flag("Track inventory")
    stock = WholeNumber("Units in stock", high=MAX_STOCK,
                        message="Enter a whole number of units from {low:,} to {high:,}.")
    in_stock = Flag("In stock")

    def check(self) -> None:
        if self.track.data and self.stock.data is None and self.ok("stock"):
            self.fail("stock", self.stock.explain(low=self.stock.low, high=self.stock.high))

    def fields(self) -> dict:
        """The variant's columns (prices in minor units)."""
        return {"sku": self.sku.data or None, "price_cents": self.price.data, "compare_at_cents": self.compare_at.data,
                "track_inventory": self.track.data, "stock": self.stock.data, "in_stock_flag": self.in_stock.data}


def _variant_data(variant: Variant) -> dict:
    return {"sku": variant.sku or "", "price": variant.price_cents, "compare_at": variant.compare_at_cents,
            "track": variant.track_inventory, "stock": variant.stock, "in_stock": variant.in_stock_flag}


class ProductEditor:
    """A product's form and its variants' forms (see the module docstring). ``variants`` is
    a list of (prefix, Variant or None, VariantForm)."""

    def __init__(self, product: Product | None, form: ProductForm, variants: list) -> None:
        self.product, self.form, self.variants = product, form, variants

    @classmethod
    def of(cls, company, product: Product | None = None, *, fresh: bool = False) -> ProductEditor:
        """The posted forms on a POST (unless ``fresh``), else the stored values (a new
        product: a draft, unpublished, one untracked variant in stock)."""
        if product is None:
            data = {"status": "draft", "published": False}
            rows = [(NEW_PREFIX, None, {"stock": 0, "in_stock": True, "track": False})]
        else:
            upsells = [str(i) for i in product.upsell_product_ids or [] if isinstance(i, int) and not isinstance(i, bool)]
            data = {"title": product.title, "description": product.description_html, "status": product.status,
                    "published": product.published, "upsell": upsells}
            rows = [(variant_prefix(v), v, _variant_data(v)) for v in product.variants]
        form = ProductForm.of(company, data, fresh=fresh, product=product)
        variants = [(prefix, variant, VariantForm.of(company, values, fresh=fresh, prefix=prefix))
                    for prefix, variant, values in rows]
        return cls(product, form, variants)

    def validate(self) -> bool:
        """Every input, then unique SKUs; True when nothing failed."""
        valid = self.form.validate()
        for _prefix, _variant, form in self.variants:
            valid = form.validate() and valid
        seen: dict[str, VariantForm] = {}
        for _prefix, _variant, form in self.variants:
            sku = form.sku.data
            if not sku or not form.ok("sku"):
                continue
            if sku in seen:
                form.fail("sku", f"SKU {sku!r} is used twice on this product. SKUs must be unique.")
                valid = False
            else:
                seen[sku] = form
        own = [variant.id for _prefix, variant, _form in self.variants if variant is not None]
        for sku, owner in taken_skus(list(seen), own).items():
            seen[sku].fail("sku", f"SKU {sku!r} is already used by {owner!r}. SKUs must be unique.")
            valid = False
        return valid

    def fail(self, message: str) -> None:
        """A problem of the whole form (e.g. a SKU taken by a save at the same moment)."""
        self.form.fail(None, message)

    def errors(self) -> dict[str, str]:
        """Input name -> its first error, "form" for the whole form's, in form order."""
        found = {"form": self.form.form_errors[0]} if self.form.form_errors else {}
        for form in (self.form, *(form for _p, _v, form in self.variants)):
            found.update({f.name: f.errors[0] for f in form if f.errors})
        return found

    def labels(self) -> dict[str, str]:
        """Input name -> what the error summary calls it, e.g. "Red / M: price"."""
        labels = {f.name: f.label.text for f in self.form}
        several = len(self.variants) > 1
        for number, (_prefix, variant, form) in enumerate(self.variants, start=1):
            name = (variant.label if variant else "") or (f"Variant {number}" if several else "")
            for f in form:
                text = f.label.text if f.label.text.isupper() else f.label.text[:1].lower() + f.label.text[1:]
                labels[f.name] = f"{name}: {text}" if name else f.label.text
        return labels

    def chosen_upsells(self) -> list[str]:
        """The ticked complementary products, as texts, for the picker (the stored ones when
        the form had no picker)."""
        if self.product is not None and not self.form.upsell_shown.data:
            return [str(i) for i in self.product.upsell_product_ids or []]
        return list(dict.fromkeys(self.form.upsell.chosen()))


class ImportForm(AdminForm):
    """Beside the uploaded CSV (read by ``catalog.admin_import``): its ``format``, one of
    ``importers.FORMATS``; anything else (or nothing) means "detect it from the columns"."""

    format = Text("Format", filters=[lambda text: text if text in FORMATS else ""])
