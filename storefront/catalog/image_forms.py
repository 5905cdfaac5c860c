"""The product editor's image forms (admin/product_images.py)."""
from __future__ import annotations

from flask_wtf.file import FileField

from storefront.forms import AdminForm, Choice, Text


class ImageUpload(AdminForm):
    """A new photo, or a photo replacing one: the file and, optionally, its alt text."""

    file = FileField("Photo")
    alt = Text("Alt text", max_length=500)

    def check(self) -> None:
        upload = self.file.data
        if upload is None or not getattr(upload, "filename", ""):
            self.fail("file", "Choose a JPEG, PNG, WebP or GIF file to upload.")


class ImageAlt(AdminForm):
    """What the photo shows, for shoppers who cannot see it; empty uses the product title."""

    alt = Text("Alt text", max_length=500)


class ImageMove(AdminForm):
    """Move one photo a place earlier or later; the first photo is the one pages show."""

    direction = Choice("Move", choices=[("up", "Earlier"), ("down", "Later")], required=True)
