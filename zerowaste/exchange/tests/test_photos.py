"""Photos of supply listings: re-encoded without metadata, seen only by those the rule names."""

from __future__ import annotations

import hashlib
import io
import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from PIL import Image

from zerowaste.core.authz import Actor
from zerowaste.core.errors import Conflict, Forbidden, Invalid, NotFound
from zerowaste.core.models import AuditEntry
from zerowaste.exchange import photos, services
from zerowaste.exchange.models import SupplyListing, SupplyPhoto
from zerowaste.exchange.testing import ISW_CODE, Market, demand, site_for, supply
from zerowaste.testing import parties

pytestmark = pytest.mark.django_db

GPS = 0x8825
ORIENTATION = 0x0112


def image_bytes(
    size: tuple[int, int] = (320, 240),
    fmt: str = "JPEG",
    mode: str = "RGB",
    color: object = "red",
    **save: object,
) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, fmt, **save)  # type: ignore[arg-type]
    return out.getvalue()


def jpeg_with_exif(size: tuple[int, int] = (400, 200), orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x013B] = "Zhang San, Plant 3"  # Artist: the camera's owner
    gps = exif.get_ifd(GPS)
    gps[1] = "N"
    gps[2] = (39.0, 47.0, 24.5)
    gps[3] = "E"
    gps[4] = (116.0, 30.0, 1.5)
    image = Image.new("RGB", size, "red")
    image.paste("blue", (0, 0, size[0] // 2, size[1]))  # left half blue
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, comment=b"owner secret")
    return out.getvalue()


def producer_actor(market: Market) -> Actor:
    return parties.actor_of(market.producer, "clerk")


def proposed(market: Market, **extra: Any) -> tuple[SupplyListing, int]:
    """A listing of the market's producer and a proposal of it to the market's receiver."""
    listing = supply(market.producer, anonymous=True, quality_notes="PP 瓶盖，含水 <5%", **extra)
    demand(market.receiver)
    run = services.run_matching(Actor.system(market.zone), period="2020-06")
    return listing, run.proposals.get(supply=listing).pk


# --- Re-encoding -----------------------------------------------------------------------------------


def test_upload_is_reencoded_and_audited(market: Market) -> None:
    listing = supply(market.producer)
    actor = producer_actor(market)
    big = image_bytes((3200, 2400), "PNG")
    photo = photos.add_photo(actor, listing.pk, content=big, filename="C:\\fakepath\\lot.png")
    stored = SupplyPhoto.objects.get(pk=photo.pk)
    content = bytes(stored.content)
    image = Image.open(io.BytesIO(content))
    assert image.format == "JPEG" and image.size == (1600, 1200)
    assert (stored.width, stored.height, stored.size_bytes) == (1600, 1200, len(content))
    thumbnail = bytes(stored.thumbnail)
    small = Image.open(io.BytesIO(thumbnail))
    assert small.format == "JPEG" and small.size == (320, 240) and len(thumbnail) < len(content)
    assert stored.sha256 == hashlib.sha256(content).hexdigest()
    assert stored.original_name == "lot.png" and stored.content_type == "image/jpeg"
    entry = AuditEntry.objects.get(action="exchange.photo.add", object_id=str(photo.pk))
    assert entry.changes["listing_id"] == [None, listing.pk]
    # A transparent PNG is laid on white.
    clear = image_bytes((50, 50), "PNG", mode="RGBA", color=(0, 0, 0, 0))
    flat = photos.add_photo(actor, listing.pk, content=clear, filename="clear.png")
    pixel = Image.open(io.BytesIO(bytes(photos.get_photo(actor, flat.pk).content))).getpixel((25, 25))
    assert all(channel > 245 for channel in pixel)  # type: ignore[union-attr]


def test_exif_gps_and_owner_are_stripped(market: Market) -> None:
    listing = supply(market.producer)
    original = jpeg_with_exif()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS)  # the upload does carry GPS
    photo = photos.add_photo(producer_actor(market), listing.pk, content=original, filename="gps.jpg")
    content = bytes(SupplyPhoto.objects.get(pk=photo.pk).content)
    image = Image.open(io.BytesIO(content))
    assert dict(image.getexif()) == {}
    assert not {"exif", "xmp", "icc_profile", "comment"} & set(image.info)
    assert b"Exif" not in content and b"Zhang San" not in content and b"owner secret" not in content
    thumbnail = bytes(SupplyPhoto.objects.get(pk=photo.pk).thumbnail)
    assert dict(Image.open(io.BytesIO(thumbnail)).getexif()) == {}
    assert b"Zhang San" not in thumbnail and b"owner secret" not in thumbnail


def test_exif_orientation_is_applied(market: Market) -> None:
    listing = supply(market.producer)
    # Orientation 6: the camera was turned; the stored image is upright (portrait).
    photo = photos.add_photo(
        producer_actor(market), listing.pk, content=jpeg_with_exif((400, 200), 6), filename="turned.jpg"
    )
    assert (photo.width, photo.height) == (200, 400)
    image = Image.open(io.BytesIO(bytes(SupplyPhoto.objects.get(pk=photo.pk).content))).convert("RGB")
    top, bottom = image.getpixel((100, 20)), image.getpixel((100, 380))
    assert top[2] > 200 and top[0] < 60  # type: ignore[index]  # the blue half is now on top
    assert bottom[0] > 200 and bottom[2] < 60  # type: ignore[index]


@pytest.mark.parametrize(
    ("content", "wording"),
    [
        (b"\xff\xd8" + b"x" * (8 * 1024 * 1024), "8 MB"),
        (b"%PDF-1.4 not an image", "JPEG, PNG or WebP"),
        (image_bytes((20, 20), "GIF"), "JPEG, PNG or WebP"),
        (image_bytes((400, 400), "JPEG")[:400], "damaged"),
        (image_bytes((8000, 6000), "PNG", mode="1", color=0), "16 megapixels"),
    ],
    ids=["too-big", "not-an-image", "gif", "truncated", "over-16-megapixels"],
)
def test_bad_files_are_refused_naming_the_field_and_file(
    market: Market, content: bytes, wording: str, english: None
) -> None:
    listing = supply(market.producer)
    audited = AuditEntry.objects.count()
    with pytest.raises(Invalid) as refused:
        photos.add_photo(producer_actor(market), listing.pk, content=content, filename="scan.bin")
    [error] = refused.value.errors
    assert error["field"] == "photo"
    assert "scan.bin" in str(error["message"]) and wording in str(error["message"])
    assert not SupplyPhoto.objects.exists() and AuditEntry.objects.count() == audited


def test_seventh_photo_is_refused_counting_addresses(market: Market) -> None:
    listing = supply(market.producer, photos=["https://example.org/a.jpg", "https://example.org/b.jpg"])
    actor = producer_actor(market)
    for n in range(4):
        photos.add_photo(actor, listing.pk, content=image_bytes(), filename=f"{n}.jpg")
    with pytest.raises(Invalid) as refused:
        photos.add_photo(actor, listing.pk, content=image_bytes(), filename="7.jpg")
    assert refused.value.errors[0]["field"] == "photo"
    assert SupplyPhoto.objects.filter(listing=listing).count() == 4


# --- Who sees, who changes -------------------------------------------------------------------------


def test_who_sees_a_photo(market: Market) -> None:
    listing, _proposal = proposed(market)
    photo = photos.add_photo(producer_actor(market), listing.pk, content=image_bytes(), filename="a.jpg")
    receiver = parties.actor_of(market.receiver, "clerk")
    regulator = parties.actor_of(market.regulator)
    other_producer = parties.actor_of(parties.make_org(market.zone, roles=("producer",)))
    unrelated_receiver = parties.actor_of(parties.make_org(market.zone, roles=("receiver",)))
    foreign_regulator = parties.actor_of(parties.make_org(parties.make_zone(), roles=("regulator",)))
    for actor in (receiver, regulator, producer_actor(market)):
        assert bytes(photos.get_photo(actor, photo.pk).content)
        assert photos.image_of(photos.get_photo(actor, photo.pk), "thumbnail")
        assert [p.pk for p in photos.photos_of(actor, listing)] == [photo.pk]
    for actor in (other_producer, unrelated_receiver, foreign_regulator):
        with pytest.raises(NotFound):
            photos.get_photo(actor, photo.pk)
        with pytest.raises(NotFound):
            photos.photos_of(actor, listing.pk)
    # Seeing is not changing.
    with pytest.raises(NotFound):
        photos.remove_photo(receiver, photo.pk)
    with pytest.raises(Forbidden):
        photos.remove_photo(regulator, photo.pk)
    with pytest.raises(NotFound):
        photos.add_photo(receiver, listing.pk, content=image_bytes(), filename="b.jpg")
    photos.remove_photo(producer_actor(market), photo.pk)
    assert not SupplyPhoto.objects.exists()
    assert AuditEntry.objects.filter(action="exchange.photo.remove", object_id=str(photo.pk)).exists()


def test_withdrawn_listing_refuses_upload_and_removal(market: Market) -> None:
    listing = supply(market.producer)
    actor = producer_actor(market)
    photo = photos.add_photo(actor, listing.pk, content=image_bytes(), filename="a.jpg")
    services.withdraw_supply(actor, listing.pk)
    with pytest.raises(Conflict):
        photos.add_photo(actor, listing.pk, content=image_bytes(), filename="b.jpg")
    with pytest.raises(Conflict):
        photos.remove_photo(actor, photo.pk)
    assert SupplyPhoto.objects.filter(listing=listing).count() == 1


# --- Pages, API, CLI -------------------------------------------------------------------------------


def test_pages_upload_serve_and_remove(market: Market, english: None) -> None:
    client = Client()
    client.force_login(parties.make_member(market.producer, "clerk").user)
    site = site_for(market.producer)
    form = {"form": "supply", "waste_code": ISW_CODE, "site_id": site.pk, "quantity_t": "2"}
    # A bad file among the new listing's photos: named, and neither listing nor photo is kept.
    r = client.post(
        "/exchange/mine/",
        {
            **form,
            "photo_files": [
                SimpleUploadedFile("good.jpg", image_bytes(), "image/jpeg"),
                SimpleUploadedFile("anim.gif", image_bytes((10, 10), "GIF"), "image/gif"),
            ],
        },
    )
    assert r.status_code == 422 and "anim.gif" in r.content.decode()
    assert not SupplyListing.objects.exists() and not SupplyPhoto.objects.exists()
    r = client.post(
        "/exchange/mine/",
        {**form, "photo_files": [SimpleUploadedFile("good.jpg", jpeg_with_exif(), "image/jpeg")]},
    )
    assert r.status_code == 302
    listing = SupplyListing.objects.get()
    [photo] = SupplyPhoto.objects.filter(listing=listing)
    r = client.post(
        "/exchange/mine/",
        {
            "form": "photo_add",
            "id": listing.pk,
            "photo": SimpleUploadedFile("more.webp", image_bytes(fmt="WEBP")),
        },
    )
    assert r.status_code == 302 and SupplyPhoto.objects.filter(listing=listing).count() == 2
    page = client.get("/exchange/mine/").content.decode()
    # The page shows thumbnails, each a link to the full image.
    link = f'<a href="/exchange/photos/{photo.pk}/" target="_blank">'
    assert f'{link}<img src="/exchange/photos/{photo.pk}/?size=thumbnail"' in page
    assert 'name="photo"' in page
    assert 'accept="image/jpeg,image/png,image/webp"' in page and 'name="photo_files"' in page
    image = client.get(f"/exchange/photos/{photo.pk}/")
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
    assert image["Cache-Control"] == "private, max-age=3600" and image["X-Content-Type-Options"] == "nosniff"
    assert image.content == bytes(SupplyPhoto.objects.get(pk=photo.pk).content)
    small = client.get(f"/exchange/photos/{photo.pk}/", {"size": "thumbnail"})
    assert small.status_code == 200 and small.content == bytes(SupplyPhoto.objects.get(pk=photo.pk).thumbnail)
    assert client.get(f"/exchange/photos/{photo.pk}/", {"size": "huge"}).status_code == 400
    stranger = Client()
    stranger.force_login(parties.make_member(parties.make_org(market.zone, roles=("producer",))).user)
    assert stranger.get(f"/exchange/photos/{photo.pk}/").status_code == 404
    assert stranger.get(f"/exchange/photos/{photo.pk}/", {"size": "thumbnail"}).status_code == 404
    assert Client().get(f"/exchange/photos/{photo.pk}/").status_code == 302  # to the login page
    r = client.post("/exchange/mine/", {"form": "photo_remove", "photo_id": photo.pk})
    assert r.status_code == 302 and not SupplyPhoto.objects.filter(pk=photo.pk).exists()


def test_api_photos(market: Market) -> None:
    listing = supply(market.producer)
    producer = parties.api_client(market.producer)
    upload = SimpleUploadedFile("lot.jpg", jpeg_with_exif((2000, 1000)), "image/jpeg")
    r = producer.client.post(
        f"/api/exchange/supply/{listing.pk}/photos",
        {"file": upload},
        headers={"Authorization": f"Bearer {producer.token}", "Idempotency-Key": "photo-1"},
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body == {
        "id": body["id"],
        "url": f"/api/exchange/photos/{body['id']}",
        "width": 1600,
        "height": 800,
        "size_bytes": body["size_bytes"],
    }
    assert producer.get(f"/api/exchange/supply/{listing.pk}").json()["photo_urls"] == [body["url"]]
    assert [p["id"] for p in producer.get(f"/api/exchange/supply/{listing.pk}/photos").json()] == [body["id"]]
    image = producer.get(body["url"])
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(image.content)).size == (1600, 800)
    small = producer.get(body["url"], size="thumbnail")
    assert small.status_code == 200 and small["ETag"] != image["ETag"]
    assert Image.open(io.BytesIO(small.content)).size == (320, 160)
    assert producer.get(body["url"], size="huge").json()["errors"][0]["field"] == "size"
    bad = producer.client.post(
        f"/api/exchange/supply/{listing.pk}/photos",
        {"file": SimpleUploadedFile("x.gif", image_bytes((5, 5), "GIF"))},
        headers={"Authorization": f"Bearer {producer.token}"},
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "photo"
    stranger = parties.api_client(parties.make_org(market.zone, roles=("producer",)))
    assert stranger.get(body["url"]).status_code == 404
    assert stranger.get(body["url"], size="thumbnail").status_code == 404
    assert stranger.get(f"/api/exchange/supply/{listing.pk}/photos").status_code == 404
    assert stranger.delete(body["url"]).status_code == 404
    assert producer.delete(body["url"], idempotency_key="del-1").status_code == 204
    assert producer.get(body["url"]).status_code == 404


def test_cli_photo_add_and_list(market: Market, tmp_path: Path) -> None:
    listing = supply(market.producer)
    first, second = tmp_path / "一号.jpg", tmp_path / "two.png"
    first.write_bytes(jpeg_with_exif())
    second.write_bytes(image_bytes(fmt="PNG"))
    out = StringIO()
    call_command(
        "exchange", "photo", "add", "--supply", str(listing.pk), str(first), str(second),
        "--zone", market.zone.code, stdout=out,
    )  # fmt: skip
    assert out.getvalue().count("photo ") == 2 and "一号.jpg" in out.getvalue()
    out = StringIO()
    call_command(
        "exchange", "photo", "list", "--supply", str(listing.pk), "--format", "json",
        "--zone", market.zone.code, stdout=out,
    )  # fmt: skip
    rows = json.loads(out.getvalue())
    assert [r["original_name"] for r in rows] == ["一号.jpg", "two.png"]
    assert rows[0]["url"] == f"/api/exchange/photos/{rows[0]['id']}"
    by_system = SupplyPhoto.objects.get(pk=rows[0]["id"])
    assert by_system.created_by == "system" and by_system.zone_id == market.zone.pk


def test_proposal_page_shows_what_is_offered_and_keeps_the_producer_anonymous(market: Market) -> None:
    listing, proposal_id = proposed(
        market, packaging="吨袋", pickup_from="2020-06-01", pickup_to="2020-06-30"
    )
    photo = photos.add_photo(producer_actor(market), listing.pk, content=image_bytes(), filename="厂名.jpg")
    receiver = Client()
    receiver.force_login(parties.make_member(market.receiver, "clerk").user)
    listing_page = receiver.get("/exchange/proposals/").content.decode()
    assert f'href="/exchange/proposals/{proposal_id}/"' in listing_page
    r = receiver.get(f"/exchange/proposals/{proposal_id}/")
    assert r.status_code == 200
    page = r.content.decode()
    assert "PP 瓶盖，含水 &lt;5%" in page and "吨袋" in page and "2020-06-01" in page and "2020-06-30" in page
    assert f'src="/exchange/photos/{photo.pk}/?size=thumbnail"' in page
    assert f'href="/exchange/photos/{photo.pk}/"' in page
    assert market.producer.name not in page and "厂名" not in page
    assert f"/exchange/proposals/{proposal_id}/accept/" in page
    assert receiver.get(f"/exchange/photos/{photo.pk}/").status_code == 200
    stranger = Client()
    stranger.force_login(parties.make_member(parties.make_org(market.zone, roles=("receiver",))).user)
    assert stranger.get(f"/exchange/proposals/{proposal_id}/").status_code == 404
    assert stranger.get(f"/exchange/photos/{photo.pk}/").status_code == 404
    # Accepting from the page comes back to it.
    r = receiver.post(f"/exchange/proposals/{proposal_id}/accept/", {"back": "detail"})
    assert r.status_code == 302 and r["Location"] == f"/exchange/proposals/{proposal_id}/"


def test_migration_gives_earlier_photos_their_thumbnail(market: Market) -> None:
    import importlib

    from django.apps import apps

    migration = importlib.import_module("zerowaste.exchange.migrations.0004_supplyphoto_thumbnail")
    listing = supply(market.producer)
    photo = photos.add_photo(
        producer_actor(market), listing.pk, content=image_bytes((800, 400)), filename="a.jpg"
    )
    SupplyPhoto.objects.filter(pk=photo.pk).update(thumbnail=b"")  # as stored before 0004
    migration.add_thumbnails(apps, None)
    thumbnail = bytes(SupplyPhoto.objects.get(pk=photo.pk).thumbnail)
    assert Image.open(io.BytesIO(thumbnail)).size == (320, 160)
