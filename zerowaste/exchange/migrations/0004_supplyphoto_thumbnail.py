import io

from django.db import migrations, models

THUMBNAIL_SIDE = 320  # as zerowaste.exchange.photos at the time of this migration


def add_thumbnails(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Photos stored before thumbnails existed get theirs (the images are already stripped JPEGs)."""
    from PIL import Image

    photo_model = apps.get_model("exchange", "SupplyPhoto")
    for photo in photo_model.objects.filter(thumbnail=b"").iterator(chunk_size=50):
        with Image.open(io.BytesIO(bytes(photo.content)), formats=["JPEG"]) as image:
            small = image.convert("RGB")
            small.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
            out = io.BytesIO()
            small.save(out, "JPEG", quality=80, optimize=True)
        photo_model.objects.filter(pk=photo.pk).update(thumbnail=out.getvalue())


class Migration(migrations.Migration):
    dependencies = [
        ("exchange", "0003_supplyphoto"),
    ]

    operations = [
        migrations.AddField(
            model_name="supplyphoto",
            name="thumbnail",
            field=models.BinaryField(blank=True, default=b"", verbose_name="thumbnail"),
        ),
        migrations.RunPython(add_thumbnails, migrations.RunPython.noop),
    ]
