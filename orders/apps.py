from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here, not at the top: handlers import models, which cannot load
        # before the app registry is ready.
        from orders.handlers import handlers_register

        handlers_register()

        from orders import integrity
        from rdk.integrity import register_integrity_check

        # Run on every restored snapshot (manage.py snapshot restore-check).
        register_integrity_check("orders.paid_orders_have_payment")(
            integrity.paid_orders_have_payment
        )
        register_integrity_check("orders.row_security")(integrity.row_security_in_place)

        from orders.pages import cart_version_key, count_key, orders_version_key
        from rdk.usercache import user_cache_key_register

        # The header's cart count and the versions of the shopper's cart and
        # orders (orders/pages.py) are read with the signed-in user: one round trip.
        for key_for in (count_key, cart_version_key, orders_version_key):
            user_cache_key_register(key_for)

        from orders import receivers
        from orders.emails import KINDS, order_email_lines
        from rdk.emails import email_context_loader_register

        # Order emails are rendered when sent, with the order's lines read then.
        for kind in KINDS:
            email_context_loader_register(kind, order_email_lines)

        receivers.connect()
