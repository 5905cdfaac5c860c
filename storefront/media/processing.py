"""Image checks and derivatives with Pillow.

``check`` is the boundary: it refuses anything that is not a whole JPEG, PNG, WebP or GIF
within MAX_BYTES and ``Image.MAX_IMAGE_PIXELS`` (decompression bombs) and is used before
anything is stored. ``derive`` fixes the EXIF orientation, drops all metadata (derivatives
are encoded from pixels alone) and writes WIDTHS, never upscaled, in WebP and JPEG, plus
the width, height and dominant colour the placeholder shows while loading.
"""
from __future__ import annotations

import hashlib
import io
import re
import warnings
from dataclasses import dataclass, field

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 20 * 1024 * 1024  # 20 MB, the upload and fetch cap
WIDTHS = (320, 640, 960, 1600)  # phone, phone 2x / tablet, laptop card, hero on 1x desktop
FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}  # Pillow name -> ext
DERIVED = ("webp", "jpg")
WEBP_QUALITY = 80
JPEG_QUALITY = 82


class ImageRefused(ValueError):
    """An image we do not accept; ``str()`` is a message for the merchant."""


@dataclass(frozen=True)
class Checked:
    """A file that passed ``check``: its SHA-256 (hex), extension, pixel size and bytes."""

    sha256: str
    ext: str
    width: int
    height: int
    byte_size: int


@dataclass
class Derived:
    """What ``derive`` made: oriented size in pixels, "#rrggbb" dominant colour, and
    {(width, "webp"|"jpg"): bytes}."""

    width: int
    height: int
    color: str
    files: dict[tuple[int, str], bytes] = field(default_factory=dict)

    @property
    def widths(self) -> list[int]:
        return sorted({w for w, _ in self.files})


def check(data: bytes) -> Checked:
    """Refuse ``data`` unless it is a complete JPEG, PNG, WebP or GIF of at most MAX_BYTES
    and at most ``Image.MAX_IMAGE_PIXELS`` pixels. Decodes it fully, so a truncated file is
    refused here. Raises ImageRefused with the reason."""
    if len(data) > MAX_BYTES:
        raise ImageRefused(f"The file is {len(data) / 1048576:.1f} MB; the limit is {MAX_BYTES // 1048576} MB.")
    if not data:
        raise ImageRefused("The file is empty.")
    head = data[:512].lstrip().lower()
    if head.startswith((b"<svg", b"<?xml", b"<!doctype svg")) or b"<svg" in head:
        raise ImageRefused("SVG images are not accepted: they can carry script. Use a JPEG, PNG, WebP or GIF.")
    try:
        with _open(data) as im:
            fmt = im.format
            _within_pixels(*im.size)
            im.verify()  # checksums and structure, without decoding
        with _open(data) as im:
            im.load()  # the pixels: a truncated JPEG fails here
            width, height = im.size
    except ImageRefused:
        raise
    except Image.DecompressionBombError as exc:
        # Pillow refuses past twice the limit while reading the header, naming the count.
        found = re.search(r"\((\d+) pixels\)", str(exc))
        declared = f"{int(found.group(1)):,} pixels" if found else "too many pixels"
        raise ImageRefused(f"The image declares {declared}; the limit is "
                           f"{Image.MAX_IMAGE_PIXELS // 1_000_000} megapixels.") from exc
    except UnidentifiedImageError as exc:
        raise ImageRefused("This file is not a JPEG, PNG, WebP or GIF image.") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageRefused(f"The image is damaged or incomplete ({exc}). Export it again.") from exc
    return Checked(hashlib.sha256(data).hexdigest(), FORMATS[fmt], width, height, len(data))


def derive(data: bytes, widths: tuple[int, ...] = WIDTHS) -> Derived:
    """Derivatives of ``data`` (which ``check`` accepted) at each of ``widths`` not wider
    than the image, plus the image's own width when it is under the largest (never
    upscaled), each in WebP and JPEG without metadata. Raises ImageRefused like ``check``."""
    try:
        with _open(data) as im:
            _within_pixels(*im.size)
            im.seek(0)  # the first frame of an animation
            oriented = ImageOps.exif_transpose(im)
            oriented.load()
    except ImageRefused:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as exc:
        raise ImageRefused(f"The image is damaged or incomplete ({exc}). Export it again.") from exc
    has_alpha = oriented.mode in ("RGBA", "LA", "PA") or (oriented.mode == "P" and "transparency" in oriented.info)
    rgba = oriented.convert("RGBA" if has_alpha else "RGB")
    flat = _flatten(rgba) if has_alpha else rgba
    width, height = flat.size
    targets = sorted({w for w in widths if w <= width} | ({width} if width < max(widths) else set()))
    out = Derived(width, height, dominant_color(flat))
    for w in targets:
        size = (w, max(1, round(height * w / width)))
        for fmt, source in (("webp", rgba), ("jpg", flat)):
            scaled = source if size == source.size else source.resize(size, Image.Resampling.LANCZOS)
            buf = io.BytesIO()
            if fmt == "webp":
                scaled.save(buf, "WEBP", quality=WEBP_QUALITY, method=4)
            else:
                scaled.save(buf, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
            out.files[(w, fmt)] = buf.getvalue()
    return out


def dominant_color(im: Image.Image) -> str:
    """The most common of four median-cut colours of a 64-px thumbnail, as "#rrggbb"."""
    small = im.convert("RGB")
    small.thumbnail((64, 64))
    quantized = small.quantize(colors=4, method=Image.Quantize.MEDIANCUT)
    _count, index = max(quantized.getcolors())
    palette = quantized.getpalette()
    r, g, b = palette[index * 3:index * 3 + 3]
    return f"#{r:02x}{g:02x}{b:02x}"


def _open(data: bytes) -> Image.Image:
    # Only our four decoders are tried: no odd formats with odd parsers. Our own limit
    # check (_within_pixels) replaces Pillow's warning.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        return Image.open(io.BytesIO(data), formats=list(FORMATS))


def _within_pixels(width: int, height: int) -> None:
    limit = Image.MAX_IMAGE_PIXELS
    if limit and width * height > limit:
        raise ImageRefused(f"The image declares {width:,} × {height:,} pixels; the limit is "
                           f"{limit // 1_000_000} megapixels.")


def _flatten(rgba: Image.Image) -> Image.Image:
    """JPEG has no transparency: composite on white."""
    white = Image.new("RGB", rgba.size, (255, 255, 255))
    white.paste(rgba, mask=rgba.getchannel("A"))
    return white
