"""Brands, products, their images and their sizes (variants) with stock.

Money is integer minor units plus an ISO currency code. Stock is two numbers
per variant: `stock_on_hand` (pairs in the building) and `stock_reserved`
(held for pending orders); the database refuses a negative count or more
reserved than on hand, whatever code path writes them."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.urls import reverse

from catalog.validators import validate_product_image


class Brand(models.Model):
    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def cache_tag(self) -> str:
        return f"brand:{self.pk}"


class Product(models.Model):
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="products")
    name = models.CharField(max_length=160)
    slug = models.SlugField(max_length=180, unique=True)
    colorway = models.CharField(max_length=120, blank=True)
    style_code = models.CharField(max_length=40, blank=True, db_index=True)
    description = models.TextField(blank=True)
    release_date = models.DateField(db_index=True)
    price_amount = models.PositiveIntegerField(help_text="Price in minor units (cents).")
    currency = models.CharField(max_length=3, default="USD")
    is_active = models.BooleanField(default=True, db_index=True)
    is_featured = models.BooleanField(default=False)
    max_per_size = models.PositiveSmallIntegerField(
        default=2, help_text="How many pairs of one size a shopper may buy (limited releases: 1)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-release_date", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(price_amount__gt=0), name="product_price_positive"),
            models.CheckConstraint(
                condition=Q(max_per_size__gte=1), name="product_max_per_size_min_1"
            ),
        ]
        indexes = [
            models.Index(fields=["is_active", "-release_date"], name="product_active_release")
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("catalog:product_detail", kwargs={"slug": self.slug})

    @property
    def cache_tag(self) -> str:
        return f"product:{self.pk}"


class ProductImage(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(upload_to="products/%Y/%m/", validators=[validate_product_image])
    alt_text = models.CharField(max_length=200)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.alt_text


class SizeScheme(models.TextChoices):
    US = "US", "US"
    EU = "EU", "EU"
    UK = "UK", "UK"


class Variant(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    size_scheme = models.CharField(max_length=2, choices=SizeScheme.choices, default=SizeScheme.US)
    size = models.DecimalField(max_digits=4, decimal_places=1)
    sku = models.CharField(max_length=64, unique=True)
    price_override_amount = models.PositiveIntegerField(
        null=True, blank=True, help_text="Minor units; empty to use the product's price."
    )
    stock_on_hand = models.IntegerField(default=0)
    stock_reserved = models.IntegerField(default=0)

    class Meta:
        ordering = ["product", "size_scheme", "size"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "size_scheme", "size"], name="variant_unique_size"
            ),
            models.CheckConstraint(condition=Q(stock_on_hand__gte=0), name="variant_on_hand_gte_0"),
            models.CheckConstraint(
                condition=Q(stock_reserved__gte=0), name="variant_reserved_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(stock_reserved__lte=F("stock_on_hand")),
                name="variant_reserved_lte_on_hand",
            ),
            models.CheckConstraint(condition=Q(size__gt=0), name="variant_size_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.product} — {self.size_label}"

    @property
    def size_label(self) -> str:
        size = f"{self.size.normalize():f}"
        return f"{self.size_scheme} {size}"

    @property
    def price_amount(self) -> int:
        if self.price_override_amount is not None:
            return self.price_override_amount
        return self.product.price_amount

    @property
    def stock_available(self) -> int:
        return self.stock_on_hand - self.stock_reserved

    @property
    def is_sold_out(self) -> bool:
        return self.stock_available <= 0
