"""Cache revalidation for every ORM write to the catalog (admin, services,
shell): a side concern that must follow each write path, hence signals.
Bulk writes that bypass signals call `catalog.services.product_revalidate`."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete, post_save

from catalog.models import Brand, Product, ProductImage, Variant
from catalog.selectors import product_page_tags_forget
from catalog.services import brand_tags, product_tags
from rdk.cachetags import revalidate_tag


def _reason(sender, created: bool | None, deleted: bool = False) -> str:
    verb = "deleted" if deleted else "created" if created else "changed"
    return f"{sender._meta.verbose_name} {verb}"


def brand_saved(sender, instance: Brand, created: bool = False, **kwargs) -> None:
    revalidate_tag(*brand_tags(instance.pk), reason=_reason(sender, created))


def brand_deleted(sender, instance: Brand, **kwargs) -> None:
    revalidate_tag(*brand_tags(instance.pk), reason=_reason(sender, None, deleted=True))


def _forget_slug(slug: str) -> None:
    transaction.on_commit(lambda: product_page_tags_forget(slug=slug))


def product_saved(sender, instance: Product, created: bool = False, **kwargs) -> None:
    revalidate_tag(*product_tags(instance.pk), reason=_reason(sender, created))
    _forget_slug(instance.slug)


def product_deleted(sender, instance: Product, **kwargs) -> None:
    revalidate_tag(*product_tags(instance.pk), reason=_reason(sender, None, deleted=True))
    _forget_slug(instance.slug)


def product_part_saved(sender, instance: ProductImage | Variant, created=False, **kwargs) -> None:
    revalidate_tag(*product_tags(instance.product_id), reason=_reason(sender, created))


def product_part_deleted(sender, instance: ProductImage | Variant, **kwargs) -> None:
    revalidate_tag(*product_tags(instance.product_id), reason=_reason(sender, None, deleted=True))


def connect() -> None:
    post_save.connect(brand_saved, sender=Brand, dispatch_uid="catalog.brand_saved")
    post_delete.connect(brand_deleted, sender=Brand, dispatch_uid="catalog.brand_deleted")
    post_save.connect(product_saved, sender=Product, dispatch_uid="catalog.product_saved")
    post_delete.connect(product_deleted, sender=Product, dispatch_uid="catalog.product_deleted")
    for model in (ProductImage, Variant):
        label = model._meta.model_name
        post_save.connect(product_part_saved, sender=model, dispatch_uid=f"catalog.{label}_saved")
        post_delete.connect(
            product_part_deleted, sender=model, dispatch_uid=f"catalog.{label}_deleted"
        )
