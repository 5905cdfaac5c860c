"""Where image bytes live: a small interface and the local implementation under MEDIA_ROOT.

Keys are content-hashed (``img/ab/<sha256>-640w.webp``), so a key's bytes never change and
the media URL can be cached for a year. A bucket (S3-compatible) would implement the same
four methods; only the local one exists here.
"""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

from flask import current_app

# Keys are ours, never a shopper's: lower-case hex, a width and an extension.
KEY_RE = re.compile(r"^(img|originals)/[0-9a-f]{2}/[0-9a-f]{64}(-[0-9]{1,5}w)?\.(webp|jpg|png|gif)$")


class Storage(Protocol):
    """Bytes by key. ``put`` is atomic (a reader sees the whole file or none)."""

    def put(self, key: str, data: bytes) -> None: ...
    def read(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...


class LocalStorage:
    """Files under ``root``. Raises ValueError for a key that is not one of ours (so a
    key can never climb out of the root)."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        if not KEY_RE.match(key):
            raise ValueError(f"not a media key: {key!r}")
        return self.root / key

    def put(self, key: str, data: bytes) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Write aside, then rename: a concurrent reader never sees half a file.
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def read(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)


def get_storage() -> Storage:
    """The app's storage: LocalStorage at MEDIA_ROOT (default ``instance/media``)."""
    return LocalStorage(current_app.config["MEDIA_ROOT"])


def original_key(sha256: str, ext: str) -> str:
    """Key of an original upload; originals are kept for reprocessing and never served."""
    return f"originals/{sha256[:2]}/{sha256}.{ext}"


def derivative_key(sha256: str, width: int, fmt: str) -> str:
    """Key of the ``width``-pixel derivative in ``fmt`` (webp or jpg) of the original whose
    SHA-256 is ``sha256``. Derivatives depend only on the original and the fixed encoder
    settings in media.processing, so the original's hash names them."""
    return f"img/{sha256[:2]}/{sha256}-{width}w.{fmt}"
