"""Row-level security on every table holding one shopper's data (PostgreSQL only;
on SQLite the selectors' ownership filters are the rule). See orders/rowsecurity.py."""

from django.db import migrations


def install(apps, schema_editor):
    from orders.rowsecurity import install

    install(schema_editor)


def uninstall(apps, schema_editor):
    from orders.rowsecurity import uninstall

    uninstall(schema_editor)


class Migration(migrations.Migration):
    rollback_safe = False
    rollback_note = (
        "Turns on forced row security: code older than it sets no row-security scope and "
        "would see no order rows. It shipped in the first release; nothing precedes it."
    )
    dependencies = [("orders", "0001_initial")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
