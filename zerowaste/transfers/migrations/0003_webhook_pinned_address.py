from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("transfers", "0002_signature_code"),
    ]

    operations = [
        migrations.AddField(
            model_name="webhooksubscription",
            name="pinned_address",
            field=models.GenericIPAddressField(blank=True, null=True),
        ),
    ]
