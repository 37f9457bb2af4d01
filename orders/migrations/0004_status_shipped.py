"""The status "fulfilled" becomes "shipped": paid and shipped are different words.

Orders and their events are under forced row security (0002), so the rows are
rewritten under the service scope, set for this migration's transaction only."""

from django.db import migrations, models

STATUS_CHOICES = [
    ("pending_payment", "Awaiting payment"),
    ("paid", "Paid"),
    ("shipped", "Shipped"),
    ("canceled", "Canceled"),
    ("refunded", "Refunded"),
    ("partially_refunded", "Partially refunded"),
]


def _rename(schema_editor, old: str, new: str) -> None:
    with schema_editor.connection.cursor() as cursor:
        if schema_editor.connection.vendor == "postgresql":
            cursor.execute("SELECT set_config('rdk.scope', 'service', true)")
        cursor.execute("UPDATE orders_order SET status = %s WHERE status = %s", [new, old])
        for column in ("from_status", "to_status"):
            cursor.execute(
                f"UPDATE orders_orderevent SET {column} = %s WHERE {column} = %s",  # noqa: S608
                [new, old],
            )


def forward(apps, schema_editor):
    _rename(schema_editor, "fulfilled", "shipped")


def backward(apps, schema_editor):
    _rename(schema_editor, "shipped", "fulfilled")


class Migration(migrations.Migration):
    dependencies = [("orders", "0003_checkout_payments")]
    rollback_safe = False
    rollback_note = (
        "Renames the status fulfilled to shipped in orders and their events; code older "
        "than it does not know shipped. Before deploying the previous release, run "
        "`manage.py migrate orders 0003` with the current code (the reverse renames "
        "shipped back to fulfilled)."
    )

    operations = [
        migrations.AlterField(
            model_name="order",
            name="status",
            field=models.CharField(
                choices=STATUS_CHOICES, db_index=True, default="pending_payment", max_length=24
            ),
        ),
        migrations.AlterField(
            model_name="orderevent",
            name="to_status",
            field=models.CharField(choices=STATUS_CHOICES, max_length=24),
        ),
        migrations.RunPython(forward, backward, elidable=False),
    ]
