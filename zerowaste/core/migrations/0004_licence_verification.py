# Licence verification (issue 15, defect 6; ADR 0042): a licence an organization enters is pending
# until a regulator verifies it, with the certificate scan it uploads. Licences already on the
# platform were entered before the rule and keep qualifying: they are marked verified by this
# migration (the audit log and `reviewed_by = "migration"` say so), so nothing in force stops.

import django.db.models.deletion
from django.db import migrations, models
from django.utils import timezone


def existing_licences_verified(apps, schema_editor):
    Licence = apps.get_model("core", "Licence")
    Licence.objects.all().update(status="verified", reviewed_by="migration", reviewed_at=timezone.now())


def back_to_unchecked(apps, schema_editor):
    # The columns are dropped on the way back: nothing to undo in the rows.
    pass


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0003_invitations_and_login_source'),
    ]

    operations = [
        migrations.CreateModel(
            name='LicenceScan',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('content', models.BinaryField(verbose_name='certificate scan')),
                ('content_type', models.CharField(max_length=100)),
                ('size_bytes', models.PositiveIntegerField()),
                ('sha256', models.CharField(max_length=64)),
                ('original_name', models.CharField(blank=True, max_length=255)),
                ('uploaded_by', models.CharField(blank=True, max_length=150)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
        ),
        migrations.AddField(
            model_name='licence',
            name='rejection_reason',
            field=models.CharField(blank=True, max_length=500, verbose_name='reason for rejection'),
        ),
        migrations.AddField(
            model_name='licence',
            name='reviewed_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='reviewed at'),
        ),
        migrations.AddField(
            model_name='licence',
            name='reviewed_by',
            field=models.CharField(blank=True, max_length=150, verbose_name='reviewed by'),
        ),
        migrations.AddField(
            model_name='licence',
            name='reviewed_by_organization',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='core.organization'),
        ),
        migrations.AddField(
            model_name='licence',
            name='status',
            field=models.CharField(choices=[('pending', 'pending verification'), ('verified', 'verified'), ('rejected', 'rejected')], default='pending', max_length=16, verbose_name='verification'),
        ),
        migrations.AddIndex(
            model_name='licence',
            index=models.Index(fields=['zone', 'status'], name='licence_zone_status_idx'),
        ),
        migrations.AddField(
            model_name='licencescan',
            name='licence',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='scans', to='core.licence'),
        ),
        migrations.AddField(
            model_name='licencescan',
            name='zone',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='core.zone'),
        ),
        migrations.AddIndex(
            model_name='licencescan',
            index=models.Index(fields=['zone', 'licence'], name='licence_scan_zone_licence_idx'),
        ),
        migrations.RunPython(existing_licences_verified, back_to_unchecked),
    ]
