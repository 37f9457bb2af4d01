"""RDK's catalog tables as a first Django tutorial would model them, read-only
(`managed = False`: the floor never migrates; the bench database is RDK's)."""

from decimal import Decimal

from django.db import models


class Brand(models.Model):
    name = models.CharField(max_length=80)

    class Meta:
        managed = False
        db_table = "catalog_brand"

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    brand = models.ForeignKey(Brand, on_delete=models.DO_NOTHING, related_name="products")
    name = models.CharField(max_length=160)
    slug = models.SlugField(max_length=180)
    colorway = models.CharField(max_length=120)
    release_date = models.DateField()
    price_amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    is_active = models.BooleanField()

    class Meta:
        managed = False
        db_table = "catalog_product"

    def __str__(self) -> str:
        return self.name

    @property
    def price(self) -> Decimal:
        return Decimal(self.price_amount) / 100


class ProductImage(models.Model):
    product = models.ForeignKey(Product, on_delete=models.DO_NOTHING, related_name="images")
    image = models.ImageField()
    alt_text = models.CharField(max_length=200)
    position = models.PositiveSmallIntegerField()

    class Meta:
        managed = False
        db_table = "catalog_productimage"
        ordering = ["position"]

    def __str__(self) -> str:
        return self.alt_text


class Variant(models.Model):
    product = models.ForeignKey(Product, on_delete=models.DO_NOTHING, related_name="variants")
    size = models.DecimalField(max_digits=4, decimal_places=1)

    class Meta:
        managed = False
        db_table = "catalog_variant"

    def __str__(self) -> str:
        return str(self.size)
