"""Cache revalidation for every write to an order (services, webhooks, the
admin): its shopper's order list and cart page are rendered afresh once the
write commits (orders/pages.py). A side concern that must follow each write
path, hence signals; writes that bypass them (`queryset.update()`) change
nothing those pages show."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save

from orders.models import Order
from orders.pages import orders_changed


def order_written(sender: type[Order], instance: Order, **kwargs: object) -> None:
    orders_changed(user_pk=instance.user_id)


def connect() -> None:
    post_save.connect(order_written, sender=Order, dispatch_uid="orders.order_saved")
    post_delete.connect(order_written, sender=Order, dispatch_uid="orders.order_deleted")
