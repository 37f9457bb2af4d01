from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from orders.services.payments import register_payment_handlers

        register_payment_handlers()

        from orders import integrity
        from rdk.integrity import register_integrity_check

        # Run on every restored snapshot (manage.py snapshot restore-check).
        register_integrity_check("orders.paid_orders_have_payment")(
            integrity.paid_orders_have_payment
        )
        register_integrity_check("orders.row_security")(integrity.row_security_in_place)
