"""Photos of supply listings: upload (re-encoded, metadata stripped), removal, who may see them.

A producer's photo goes through Pillow and is stored as a fresh JPEG with no EXIF, XMP, ICC or
comment: a photo's GPS position or camera owner would betray an anonymous producer (ADR 34). The
image lives in the database, like indicator evidence. Who sees a photo: the listing's organization,
a regulator who may see that organization, and a receiver with a proposal for the listing (any
status); anyone else gets NotFound, so a photo's existence is not confirmed either.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO, Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from PIL import Image, ImageOps

from zerowaste.core import audit, images
from zerowaste.core.authz import Actor, visible_organizations
from zerowaste.core.errors import Conflict, Invalid, NotFound
from zerowaste.core.services import check_text

from . import rules, services
from .models import Proposal, SupplyListing, SupplyPhoto

FIELD = "photo"
MAX_PHOTOS = services.MAX_PHOTOS  # per listing, counting the legacy addresses in `photos`
MAX_BYTES = 8 * 1024 * 1024  # an upload, as sent
MAX_SIDE = 1600  # the long side of the stored image
THUMBNAIL_SIDE = 320  # the long side of its thumbnail
QUALITY = 85
THUMBNAIL_QUALITY = 80
FORMATS = ("JPEG", "PNG", "WEBP")
CONTENT_TYPE = "image/jpeg"


# --- The image itself (no database) ----------------------------------------------------------------


@dataclass(frozen=True)
class Encoded:
    content: bytes
    width: int
    height: int
    thumbnail: bytes


def _refuse(name: str, problem: str) -> Invalid:
    message = _("%(file)s: %(problem)s") % {"file": name, "problem": problem} if name else problem
    return Invalid.field(FIELD, message)


def reencode(content: bytes, name: str = "") -> Encoded:
    """The upload as a JPEG of at most MAX_SIDE px on its long side, upright, with no metadata.

    Refuses (Invalid naming `photo` and the file) an empty or too large upload, anything but a
    JPEG, PNG or WebP image, an image over the pixel cap, and a broken or truncated file. The
    decode goes through `core.images` (header checked first, JPEG decoded reduced, few at a time).
    """
    if not content:
        raise _refuse(name, _("the file is empty"))
    if len(content) > MAX_BYTES:
        raise _refuse(name, _("larger than %(n)d MB") % {"n": MAX_BYTES // (1024 * 1024)})
    with images.decode_slot():
        image = images.decode(
            content,
            field=FIELD,
            formats=FORMATS,
            target_side=MAX_SIDE,
            name=name,
            not_an_image=_("not a JPEG, PNG or WebP image"),
        )
        try:
            # Shrink first: the copies that orientation and flattening make are then small.
            image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
            flat = _flatten(ImageOps.exif_transpose(image))
        except (OSError, SyntaxError, ValueError, EOFError, KeyError, TypeError, struct.error) as exc:
            # A broken EXIF orientation, an unusual pixel mode.
            raise _refuse(name, _("the image is damaged or cannot be read")) from exc
        finally:
            image.close()
        flat.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        # A new image carries no `info` (EXIF, XMP, ICC profile, comments): nothing but pixels is saved.
        flat.save(out, "JPEG", quality=QUALITY, optimize=True)
        return Encoded(out.getvalue(), flat.width, flat.height, _thumbnail(flat))


def _thumbnail(image: Image.Image) -> bytes:
    """A JPEG of at most THUMBNAIL_SIDE px on its long side, from an image already stripped."""
    small = image.copy()
    small.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    small.save(out, "JPEG", quality=THUMBNAIL_QUALITY, optimize=True)
    return out.getvalue()


def _flatten(image: Image.Image) -> Image.Image:
    """RGB pixels only, in a new image; transparency is laid on white."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    clean = Image.new("RGB", image.size, "white")
    if has_alpha:
        rgba = image.convert("RGBA")
        clean.paste(rgba, mask=rgba.getchannel("A"))
    else:
        if image.mode in ("I;16", "I;16B", "I;16L", "I"):
            image = image.point(lambda v: v / 256).convert("L")
        clean.paste(image.convert("RGB"))
    return clean


def read_upload(file: IO[bytes] | Any) -> bytes:
    """At most MAX_BYTES + 1 bytes of an uploaded file: enough to refuse a too large one."""
    data = file.read(MAX_BYTES + 1)
    return bytes(data or b"")


def _clean_name(filename: str) -> str:
    name = os.path.basename(str(filename or "").replace("\\", "/")).strip()
    return check_text(name[-255:], FIELD, max_length=255)


# --- Who sees what ---------------------------------------------------------------------------------


def _listings_visible(actor: Actor) -> QuerySet[SupplyListing]:
    """Listings whose photos the actor may see (see the module's docstring)."""
    base = SupplyListing.objects.filter(zone_id=actor.zone_id)
    if actor.is_system:
        return base
    org = actor.organization_id or 0
    rule = Q(organization_id=org)
    if actor.is_regulator:
        rule |= Q(organization_id__in=visible_organizations(actor).values("pk"))
    rule |= Q(pk__in=Proposal.objects.filter(zone_id=actor.zone_id, receiver_id=org).values("supply_id"))
    return base.filter(rule)


def visible_photos(actor: Actor) -> QuerySet[SupplyPhoto]:
    """The photos the actor may see, without their bytes (`get_photo` loads those)."""
    base = SupplyPhoto.objects.filter(zone_id=actor.zone_id).defer("content", "thumbnail")
    if actor.is_system:
        return base
    return base.filter(listing_id__in=_listings_visible(actor).values("pk"))


def get_photo(actor: Actor, photo_id: int) -> SupplyPhoto:
    """One photo with its image, if the actor may see it; else NotFound (existence not confirmed)."""
    photo = visible_photos(actor).defer(None).filter(pk=photo_id).first()
    if photo is None:
        raise NotFound(_("photo %(id)s not found") % {"id": photo_id})
    return photo


def photos_of(actor: Actor, supply: SupplyListing | int) -> list[SupplyPhoto]:
    """The uploaded photos of a listing (no bytes), oldest first; NotFound if the actor may not see them."""
    supply_id = supply.pk if isinstance(supply, SupplyListing) else int(supply)
    if not _listings_visible(actor).filter(pk=supply_id).exists():
        raise NotFound(_("supply listing %(id)s not found") % {"id": supply_id})
    return list(visible_photos(actor).filter(listing_id=supply_id).order_by("created_at", "pk"))


def photos_by_listing(actor: Actor, listings: Iterable[SupplyListing]) -> dict[int, list[SupplyPhoto]]:
    """The visible photos of many listings in one query (for pages listing them)."""
    ids = [s.pk for s in listings]
    found: dict[int, list[SupplyPhoto]] = {pk: [] for pk in ids}
    for photo in visible_photos(actor).filter(listing_id__in=ids).order_by("created_at", "pk"):
        found[photo.listing_id].append(photo)
    return found


def url_of(photo: SupplyPhoto | int, *, api: bool = False) -> str:
    """The photo's address: its id only, never a name (anonymity is kept)."""
    pk = photo.pk if isinstance(photo, SupplyPhoto) else int(photo)
    return f"/api/exchange/photos/{pk}" if api else f"/exchange/photos/{pk}/"


SIZES = ("full", "thumbnail")


def image_of(photo: SupplyPhoto, size: str = "full") -> bytes:
    """The bytes to serve: the stored image, or its thumbnail (`size`, named in a refusal)."""
    if size not in SIZES:
        raise Invalid.field("size", _("one of %(all)s") % {"all": ", ".join(SIZES)})
    if size == "thumbnail":
        return bytes(photo.thumbnail) or bytes(photo.content)
    return bytes(photo.content)


# --- Changes ---------------------------------------------------------------------------------------


def _open_listing_for_change(actor: Actor, supply_id: int) -> SupplyListing:
    """The listing, locked, if the actor acts for its organization (or is the system) and it is open."""
    listing = services.get_supply(actor, supply_id)  # NotFound unless own (or a regulator's)
    services.check_owner(actor, listing.organization_id)  # Forbidden for a regulator
    listing = SupplyListing.objects.select_for_update().get(pk=listing.pk)
    if listing.status != rules.STATUS_OPEN:
        raise Conflict(
            _("the supply listing is %(status)s: photos change only while it is open")
            % {"status": listing.get_status_display()}
        )
    return listing


def _add(actor: Actor, listing: SupplyListing, content: bytes, filename: str) -> SupplyPhoto:
    name = _clean_name(filename)
    count = len(listing.photos or []) + listing.uploaded_photos.count()
    if count >= MAX_PHOTOS:
        raise _refuse(name, _("a listing has at most %(n)d photos") % {"n": MAX_PHOTOS})
    image = reencode(content, name)
    photo = SupplyPhoto.objects.create(
        zone_id=listing.zone_id,
        listing=listing,
        content=image.content,
        thumbnail=image.thumbnail,
        content_type=CONTENT_TYPE,
        width=image.width,
        height=image.height,
        size_bytes=len(image.content),
        sha256=hashlib.sha256(image.content).hexdigest(),
        original_name=name,
        created_by=actor.username,
    )
    audit.record(
        actor,
        "exchange.photo.add",
        photo,
        {
            "listing_id": [None, listing.pk],
            "original_name": [None, name],
            "sha256": [None, photo.sha256],
            "size_bytes": [None, photo.size_bytes],
            "width": [None, photo.width],
            "height": [None, photo.height],
        },
    )
    return photo


@transaction.atomic
def add_photo(actor: Actor, supply_id: int, *, content: bytes, filename: str) -> SupplyPhoto:
    """Add a photo to an open listing of the actor's organization (the system may add for any)."""
    listing = _open_listing_for_change(actor, supply_id)
    return _add(actor, listing, content, filename)


@transaction.atomic
def add_photos(actor: Actor, supply_id: int, files: Sequence[tuple[str, bytes]]) -> list[SupplyPhoto]:
    """Several photos at once, all or none: `files` are (filename, content) pairs."""
    listing = _open_listing_for_change(actor, supply_id)
    return [_add(actor, listing, content, name) for name, content in files]


@transaction.atomic
def create_supply_with_photos(
    actor: Actor, *, data: dict[str, Any], files: Sequence[tuple[str, bytes]]
) -> SupplyListing:
    """A supply listing and its uploaded photos in one transaction: a refused photo keeps both out."""
    listing = services.create_supply(actor, data=data)
    if files:
        add_photos(actor, listing.pk, files)
    return listing


@transaction.atomic
def remove_photo(actor: Actor, photo_id: int) -> None:
    """Remove a photo of an open listing of the actor's organization (audited; photos are not records)."""
    photo = visible_photos(actor).filter(pk=photo_id).first()
    if photo is None:
        raise NotFound(_("photo %(id)s not found") % {"id": photo_id})
    _open_listing_for_change(actor, photo.listing_id)
    audit.record(
        actor,
        "exchange.photo.remove",
        photo,
        {
            "listing_id": [photo.listing_id, None],
            "original_name": [photo.original_name, None],
            "sha256": [photo.sha256, None],
        },
    )
    SupplyPhoto.objects.filter(pk=photo.pk).delete()
