"""Decoding an uploaded image without letting it expand in memory (ADR 0043).

A small PNG can declare 6300 × 6300 pixels and cost ~600 MB once decoded, flattened and copied. Every
decode of an upload goes through `decode`: the size is read from the header before any pixel is
decoded, a JPEG is decoded already reduced (`Image.draft`, by 1/2, 1/4 or 1/8) to about the size
it will be stored at, anything that would still hold more than IMAGE_MAX_PIXELS pixels is refused,
and at most IMAGE_DECODE_CONCURRENCY decodes run at once in a process (others wait, then are told
to retry). Supply photos use it; so should any other upload of images (indicator evidence, licence
certificate scans).
"""

from __future__ import annotations

import io
import struct
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from .errors import DomainError, Invalid

# Pillow's own guard is 89 million pixels; the header check below refuses far earlier.
HEADER_MAX_PIXELS = 120_000_000  # a JPEG this large still decodes at 1/8 under the cap
WAIT_SECONDS = 20


class Busy(DomainError):
    """Too many images are being decoded right now; the client should retry shortly."""

    status = 503


_slots: threading.BoundedSemaphore | None = None
_slots_size = 0
_slots_lock = threading.Lock()


def _semaphore() -> threading.BoundedSemaphore:
    global _slots, _slots_size
    size = max(1, int(getattr(settings, "IMAGE_DECODE_CONCURRENCY", 2)))
    with _slots_lock:
        if _slots is None or _slots_size != size:
            _slots, _slots_size = threading.BoundedSemaphore(size), size
        return _slots


@contextmanager
def decode_slot() -> Iterator[None]:
    """One of the process's few decode slots, for the time of a decode and re-encode."""
    slots = _semaphore()
    if not slots.acquire(timeout=WAIT_SECONDS):
        raise Busy(_("the server is busy decoding other images; try again in a minute"))
    try:
        yield
    finally:
        slots.release()


def max_pixels() -> int:
    return int(getattr(settings, "IMAGE_MAX_PIXELS", 16_000_000))


def decode(
    content: bytes,
    *,
    field: str,
    formats: tuple[str, ...] = ("JPEG", "PNG", "WEBP"),
    target_side: int = 1600,
    name: str = "",
    not_an_image: str = "",
) -> Image.Image:
    """The decoded image (pixels loaded), at least `target_side` on its long side when it was larger
    and could be decoded reduced. Call inside `decode_slot()`. Refuses with Invalid naming `field`
    (and the file): not an image of `formats`, too many pixels, damaged data."""

    limit = max_pixels()
    too_many = _("more than %(mp)d megapixels") % {"mp": limit // 1_000_000}
    with _refusing(field, name, too_many, not_an_image, formats):
        image = Image.open(io.BytesIO(content), formats=list(formats))  # reads the header only
        width, height = image.size
        if width * height > HEADER_MAX_PIXELS:
            raise _refusal(field, name, f"{width} × {height}: {too_many}")
        if image.format == "JPEG" and max(width, height) > target_side:
            # Decode at the smallest scale (1/2, 1/4, 1/8) that still covers the stored size.
            ratio = target_side / max(width, height)
            wanted = (max(1, int(width * ratio)), max(1, int(height * ratio)))
            image.draft(image.mode if image.mode in ("RGB", "L") else "RGB", wanted)
        if image.size[0] * image.size[1] > limit:
            raise _refusal(field, name, f"{width} × {height}: {too_many}")
        image.load()
        return image


def identify(
    content: bytes,
    *,
    field: str,
    formats: tuple[str, ...],
    max_image_pixels: int,
    name: str = "",
    not_an_image: str = "",
) -> str:
    """The format of an image kept as it was sent (a certificate scan), checked without decoding its
    pixels: the header gives the size, `verify` walks the data for damage. Refuses like `decode`."""

    too_many = _("more than %(mp)d megapixels") % {"mp": max_image_pixels // 1_000_000}
    with _refusing(field, name, too_many, not_an_image, formats):
        image = Image.open(io.BytesIO(content), formats=list(formats))  # reads the header only
        if image.width * image.height > max_image_pixels:
            raise _refusal(field, name, too_many)
        kind = image.format or ""
        image.verify()
    if kind not in formats:
        raise _refusal(field, name, _not_an_image(not_an_image, formats))
    return kind


def _not_an_image(message: str, formats: tuple[str, ...]) -> str:
    return message or _("not an image (%(formats)s)") % {"formats": ", ".join(formats)}


def _refusal(field: str, name: str, problem: str) -> Invalid:
    message = _("%(file)s: %(problem)s") % {"file": name, "problem": problem} if name else problem
    return Invalid.field(field, message)


@contextmanager
def _refusing(
    field: str, name: str, too_many: str, not_an_image: str, formats: tuple[str, ...]
) -> Iterator[None]:
    """Pillow's ways of failing on an upload, as one refusal naming the field and the file."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _refusal(field, name, too_many) from exc
    except UnidentifiedImageError as exc:
        raise _refusal(field, name, _not_an_image(not_an_image, formats)) from exc
    except (OSError, SyntaxError, ValueError, EOFError, KeyError, TypeError, struct.error) as exc:
        raise _refusal(field, name, _("the image is damaged or cannot be read")) from exc
