"""Staff admin for the catalog. Every save and delete here revalidates the
cache tags it touches through `catalog.receivers`."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, Exists, F, OuterRef, Sum

from catalog.models import Brand, Product, ProductImage, Variant
from rdk.money import money_text


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "product_count"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_product_count=Count("products"))

    @admin.display(description="Products", ordering="_product_count")
    def product_count(self, brand: Brand) -> int:
        return brand._product_count


class VariantInline(admin.TabularInline):
    model = Variant
    extra = 0
    fields = [
        "size_scheme",
        "size",
        "sku",
        "price_override_amount",
        "stock_on_hand",
        "stock_reserved",
    ]
    readonly_fields = ["stock_reserved"]
    ordering = ["size_scheme", "size"]


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    extra = 0
    fields = ["image", "alt_text", "position"]


class InStockFilter(admin.SimpleListFilter):
    title = "stock"
    parameter_name = "stock"

    def lookups(self, request, model_admin):
        return [("in", "Some size available"), ("out", "Sold out")]

    def queryset(self, request, queryset):
        available = Variant.objects.filter(
            product=OuterRef("pk"), stock_on_hand__gt=F("stock_reserved")
        )
        if self.value() == "in":
            return queryset.filter(Exists(available))
        if self.value() == "out":
            return queryset.exclude(Exists(available))
        return queryset


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "brand",
        "style_code",
        "price_display",
        "release_date",
        "stock_total",
        "is_active",
        "is_featured",
    ]
    list_filter = ["is_active", "is_featured", InStockFilter, "brand", "release_date"]
    list_editable = ["is_active", "is_featured"]
    list_select_related = ["brand"]
    search_fields = ["name", "slug", "colorway", "style_code", "brand__name", "variants__sku"]
    prepopulated_fields = {"slug": ["name"]}
    date_hierarchy = "release_date"
    inlines = [VariantInline, ProductImageInline]
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["brand", "name", "slug", "colorway", "style_code", "description"]}),
        ("Selling", {"fields": ["price_amount", "currency", "max_per_size", "release_date"]}),
        ("Visibility", {"fields": ["is_active", "is_featured"]}),
        ("History", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(_stock=Sum(F("variants__stock_on_hand") - F("variants__stock_reserved")))
        )

    @admin.display(description="Price", ordering="price_amount")
    def price_display(self, product: Product) -> str:
        return money_text(product.price_amount, product.currency, symbol=False)

    @admin.display(description="Available pairs", ordering="_stock")
    def stock_total(self, product: Product) -> int:
        return product._stock or 0


@admin.register(Variant)
class VariantAdmin(admin.ModelAdmin):
    list_display = ["sku", "product", "size_label", "stock_on_hand", "stock_reserved"]
    list_editable = ["stock_on_hand"]
    list_filter = ["size_scheme", "product__brand"]
    list_select_related = ["product"]
    search_fields = ["sku", "product__name", "product__style_code"]
    readonly_fields = ["stock_reserved"]
    autocomplete_fields = ["product"]


@admin.register(ProductImage)
class ProductImageAdmin(admin.ModelAdmin):
    list_display = ["alt_text", "product", "position"]
    list_select_related = ["product"]
    search_fields = ["alt_text", "product__name"]
    autocomplete_fields = ["product"]
