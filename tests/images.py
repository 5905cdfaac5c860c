"""Image files for tests: the real WooCommerce photos and hand-made bad ones."""
from __future__ import annotations

import io
import struct
import zlib

from factories import CATALOG_DIR

PHOTOS = CATALOG_DIR / "images" / "woocommerce-storefront"


def photo(name: str = "products-beanie.jpg") -> bytes:
    """A real product photo from the shared data (see its SOURCES.md)."""
    return (PHOTOS / name).read_bytes()


def png_declaring(width: int, height: int) -> bytes:
    """A small PNG whose header declares ``width`` x ``height`` pixels (a decompression bomb
    needs only a few bytes of compressed zeros)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def made(size=(40, 30), fmt="PNG", mode="RGB", color=(200, 30, 30), exif_orientation=None) -> bytes:
    """A generated image; ``exif_orientation`` 6 means "rotate 90° clockwise to show"."""
    from PIL import Image

    im = Image.new(mode, size, color)
    buf = io.BytesIO()
    kwargs = {}
    if exif_orientation:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        exif[0x010F] = "TestCam"  # Make: metadata that must not survive
        kwargs["exif"] = exif
    im.save(buf, fmt, **kwargs)
    return buf.getvalue()


SVG = (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
       b'<script>alert(1)</script></svg>')
TEXT_AS_JPG = b"This is a shopping list, not a photo.\nEggs\nMilk\n"
