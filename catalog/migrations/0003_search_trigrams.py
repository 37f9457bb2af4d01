"""pg_trgm and the GIN trigram indexes behind catalog search (catalog.search).

pg_trgm is a trusted extension: the database owner (RDK's non-superuser role,
see `pg_bootstrap`, which also creates it with the admin URL) may create it.
SQLite has neither, and needs neither: search falls back to substrings there."""

from django.db import migrations

INDEXES = {
    "catalog_product_name_trgm": ("catalog_product", "name"),
    "catalog_product_colorway_trgm": ("catalog_product", "colorway"),
    "catalog_brand_name_trgm": ("catalog_brand", "name"),
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, (table, column) in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({column} gin_trgm_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    rollback_safe = True
    rollback_note = "Adds the pg_trgm extension and indexes only; the previous code ignores them."

    dependencies = [("catalog", "0002_image_validation")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
