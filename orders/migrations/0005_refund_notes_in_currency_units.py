"""Refund events written before money was shown in currency units read
"Refunded 5000 USD" on the shopper's timeline; they become "Refunded $50.00".

Order events are under forced row security (0002), so the rows are rewritten
under the service scope, set for this migration's transaction only."""

import re

from django.db import migrations

from rdk.money import money_text

_OLD_NOTE = re.compile(r"Refunded (\d+) ([A-Z]{3})")


def forward(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        if schema_editor.connection.vendor == "postgresql":
            cursor.execute("SELECT set_config('rdk.scope', 'service', true)")
        cursor.execute("SELECT id, note FROM orders_orderevent WHERE note LIKE 'Refunded %%'")
        for event_id, note in cursor.fetchall():
            match = _OLD_NOTE.fullmatch(note)
            if match:
                amount, currency = match.groups()
                cursor.execute(
                    "UPDATE orders_orderevent SET note = %s WHERE id = %s",
                    [f"Refunded {money_text(int(amount), currency)}", event_id],
                )


class Migration(migrations.Migration):
    rollback_safe = True
    rollback_note = "Rewrites refund event notes to currency units; old code reads any note text, nothing to undo."

    dependencies = [("orders", "0004_status_shipped")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop, elidable=False)]
