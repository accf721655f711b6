"""The keyed audit chain and its signed checkpoints (ADR 0003 amended, ADR 0044).

- `AuditEntry.key_id`: the HMAC key that made an entry's hash; existing entries keep "" (plain
  SHA-256) and still verify.
- `AuditCheckpoint`: the signed chain heads the public page lists.
- On SQLite, triggers refuse UPDATE and DELETE of audit entries as PostgreSQL's do since 0002. The SQL
  is repeated here (not imported) so that this migration keeps meaning what it meant.
"""

from django.db import migrations, models

SQLITE_TRIGGERS = {"core_auditentry_no_update": "UPDATE", "core_auditentry_no_delete": "DELETE"}


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for name, op in SQLITE_TRIGGERS.items():
            schema_editor.execute(
                f"CREATE TRIGGER IF NOT EXISTS {name} BEFORE {op} ON core_auditentry "
                f"BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: {op} refused on core_auditentry'); END"
            )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for name in SQLITE_TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("core", "0004_licence_verification")]
    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="key_id",
            field=models.CharField(blank=True, default="", max_length=16),
        ),
        migrations.CreateModel(
            name="AuditCheckpoint",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("zone_id", models.BigIntegerField()),
                ("seq", models.BigIntegerField()),
                ("head_hash", models.CharField(max_length=64)),
                ("at", models.DateTimeField()),
                ("day", models.DateField()),
                ("key_fingerprint", models.CharField(max_length=16)),
                ("payload", models.TextField()),
                ("signature", models.CharField(max_length=100)),
            ],
            options={
                "indexes": [models.Index(fields=["zone_id", "-at"], name="audit_checkpoint_zone_at_idx")],
            },
        ),
        migrations.RunPython(forward, backward),
    ]
