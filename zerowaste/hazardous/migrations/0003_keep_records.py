"""On PostgreSQL, hazardous-waste records cannot be deleted: a trigger refuses DELETE on every table
of the app (records are kept at least five years and never deleted, seed:4033). The models refuse
`delete()` too; this stops raw SQL and other clients. TRUNCATE stays possible so test databases and
`zerowaste demo --reset` can flush."""

from django.db import migrations

TABLES = (
    "hazardous_store",
    "hazardous_disposalcontract",
    "hazardous_container",
    "hazardous_storageextension",
    "hazardous_tierassessment",
    "hazardous_managementplan",
    "hazardous_transferplan",
    "hazardous_identificationreport",
    "hazardous_inspection",
)

FUNCTION = """
CREATE OR REPLACE FUNCTION zerowaste_hazardous_keep() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = 'hazardous-waste records are kept at least five years: DELETE refused on ' || TG_TABLE_NAME,
        ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION)
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_keep BEFORE DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION zerowaste_hazardous_keep();"
        )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_keep ON {table};")
    schema_editor.execute("DROP FUNCTION IF EXISTS zerowaste_hazardous_keep();")


class Migration(migrations.Migration):
    dependencies = [("hazardous", "0002_container_number_per_store")]
    operations = [migrations.RunPython(forward, backward)]
