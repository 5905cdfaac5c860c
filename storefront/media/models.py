"""MediaAsset: one stored image of a merchant and the derivatives made from it."""
from __future__ import annotations

import base64
from datetime import datetime

from flask import current_app
from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storefront.extensions import db
from storefront.media.storage import derivative_key
from storefront.types import JSONType, UTCDateTime, utcnow

PENDING, READY, FAILED = "pending", "ready", "failed"


class MediaAsset(db.Model):
    """An image file, stored once per merchant and content (``sha256`` of the original).

    ``status`` is pending until the processing job has written the derivatives (``widths``,
    pixel widths, each in WebP and JPEG), then ready; failed keeps the reason in ``error``.
    ``width``/``height`` are the oriented pixel size; ``color`` the "#rrggbb" dominant
    colour the placeholder shows while the image loads.
    """

    __tablename__ = "media_assets"
    __table_args__ = (UniqueConstraint("company_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    ext: Mapped[str] = mapped_column(String(8))
    byte_size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    color: Mapped[str | None] = mapped_column(String(7))
    widths: Mapped[list] = mapped_column(JSONType, default=list)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def ready(self) -> bool:
        return self.status == READY and bool(self.widths)

    def url(self, width: int, fmt: str = "jpg", absolute: bool = False) -> str:
        """URL of the ``width`` derivative in ``fmt`` ("webp" or "jpg"), under MEDIA_URL;
        ``absolute`` prefixes PUBLIC_URL (for emails)."""
        base = current_app.config["MEDIA_URL"].rstrip("/")
        path = f"{base}/{derivative_key(self.sha256, width, fmt)}"
        return current_app.config["PUBLIC_URL"] + path if absolute and path.startswith("/") else path

    def srcset(self, fmt: str) -> str:
        """"url 320w, url 640w, ..." over the derivatives made."""
        return ", ".join(f"{self.url(w, fmt)} {w}w" for w in self.widths)

    @property
    def color_data_uri(self) -> str:
        """The dominant colour as a 1x1 GIF data URI: the placeholder shown behind the image
        while it loads (an image, not a style attribute, so the CSP needs no inline styles)."""
        hex_rgb = (self.color or "#eeeeee").lstrip("#")
        gif = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00" + bytes.fromhex(hex_rgb) + b"\x00\x00\x00"
               b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
        return "data:image/gif;base64," + base64.b64encode(gif).decode()

    def fallback_width(self, wanted: int = 640) -> int:
        """The smallest derivative at least ``wanted`` px wide, else the widest."""
        return next((w for w in self.widths if w >= wanted), self.widths[-1])
