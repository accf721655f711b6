import hashlib

from django.db import migrations, models


def digest_existing(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Earlier dead letters get their digest; a redelivered copy among them is dropped."""
    DeadLetter = apps.get_model("household", "DeadLetter")
    seen: set[tuple[int, str]] = set()
    for letter in DeadLetter.objects.order_by("pk").iterator():
        digest = hashlib.sha256(f"{letter.topic}\n{letter.payload}".encode()).hexdigest()
        if (letter.zone_id, digest) in seen:
            letter.delete()
            continue
        seen.add((letter.zone_id, digest))
        DeadLetter.objects.filter(pk=letter.pk).update(digest=digest)


class Migration(migrations.Migration):
    dependencies = [("household", "0002_alarms_points")]

    operations = [
        migrations.AddField(
            model_name="deadletter",
            name="digest",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(digest_existing, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="deadletter",
            constraint=models.UniqueConstraint(fields=("zone", "digest"), name="hh_deadletter_zone_digest_uniq"),
        ),
    ]
