"""The public, read-only products API (/api/v1/products). Anonymous responses
are cached whole under the same tags as the pages (rdk.pagecache)."""

from __future__ import annotations

from decimal import Decimal

from django.core.files.storage import default_storage
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.pagination import PageNumberPagination

from catalog import selectors
from catalog.forms import SLUG
from catalog.models import Product, ProductImage, Variant
from catalog.selectors import ProductFilters
from rdk.pagecache import page_cache

ORDERING = {"newest": "newest", "price": "price_asc", "-price": "price_desc"}


class ProductQuerySerializer(serializers.Serializer):
    search = serializers.CharField(required=False, max_length=100, allow_blank=True)
    brand = serializers.ListField(
        child=serializers.RegexField(rf"^{SLUG.pattern}$", max_length=80),
        required=False,
        max_length=20,
        help_text="Brand slug; repeat for several brands.",
    )
    size = serializers.DecimalField(
        required=False, max_digits=3, decimal_places=1, min_value=Decimal(1), max_value=Decimal(20)
    )
    min_price = serializers.IntegerField(
        required=False, min_value=0, help_text="Lowest price in minor units (cents)."
    )
    max_price = serializers.IntegerField(
        required=False, min_value=0, help_text="Highest price in minor units (cents)."
    )
    in_stock = serializers.BooleanField(required=False, default=False)
    ordering = serializers.ChoiceField(choices=list(ORDERING), required=False, default="newest")
    page = serializers.IntegerField(required=False, min_value=1)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=100)

    def validate_size(self, value: Decimal) -> Decimal:
        if value % Decimal("0.5"):
            raise serializers.ValidationError("Sizes come in whole and half steps.")
        return value

    def validate(self, data: dict) -> dict:
        low, high = data.get("min_price"), data.get("max_price")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError({"max_price": ["Must not be below min_price."]})
        return data

    def to_filters(self) -> ProductFilters:
        data = self.validated_data
        return ProductFilters(
            search=(data.get("search") or "").strip(),
            brands=tuple(dict.fromkeys(data.get("brand") or ())),
            size=data.get("size"),
            min_price=data.get("min_price"),
            max_price=data.get("max_price"),
            in_stock=data["in_stock"],
            sort=ORDERING[data["ordering"]],
        )


class ProductPagination(PageNumberPagination):
    page_size = 24
    page_size_query_param = "page_size"
    max_page_size = 100


# What both product representations start with; each adds its own fields.
PRODUCT_FIELDS = (
    "slug",
    "name",
    "brand",
    "brand_slug",
    "colorway",
    "style_code",
    "release_date",
    "price_amount",
    "currency",
    "in_stock",
    "url",
)


class ProductListSerializer(serializers.ModelSerializer):
    brand = serializers.CharField(source="brand.name")
    brand_slug = serializers.CharField(source="brand.slug")
    in_stock = serializers.BooleanField()
    image = serializers.SerializerMethodField()
    url = serializers.CharField(source="get_absolute_url")

    class Meta:
        model = Product
        fields = [*PRODUCT_FIELDS, "image"]

    def get_image(self, product: Product) -> str | None:
        return default_storage.url(product.image_path) if product.image_path else None


class VariantSerializer(serializers.ModelSerializer):
    size_label = serializers.CharField()
    price_amount = serializers.IntegerField()
    available = serializers.IntegerField(source="stock_available")
    sold_out = serializers.BooleanField(source="is_sold_out")

    class Meta:
        model = Variant
        fields = [
            "id",
            "sku",
            "size_scheme",
            "size",
            "size_label",
            "price_amount",
            "available",
            "sold_out",
        ]


class ImageSerializer(serializers.ModelSerializer):
    url = serializers.CharField(source="image.url")

    class Meta:
        model = ProductImage
        fields = ["url", "alt_text"]


class ProductDetailSerializer(serializers.ModelSerializer):
    brand = serializers.CharField(source="brand.name")
    brand_slug = serializers.CharField(source="brand.slug")
    images = ImageSerializer(many=True)
    variants = VariantSerializer(many=True)
    in_stock = serializers.SerializerMethodField()
    url = serializers.CharField(source="get_absolute_url")

    class Meta:
        model = Product
        fields = [*PRODUCT_FIELDS, "description", "max_per_size", "images", "variants"]

    def get_in_stock(self, product: Product) -> bool:
        return any(not variant.is_sold_out for variant in product.variants.all())


class ProductListApi(ListAPIView):
    """Active products, filtered, searched, ordered and paginated."""

    serializer_class = ProductListSerializer
    pagination_class = ProductPagination
    authentication_classes: list = []
    permission_classes: list = []

    @extend_schema(parameters=[ProductQuerySerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        query = ProductQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.product_list(filters=query.to_filters())


class ProductDetailApi(RetrieveAPIView):
    """One active product with its images and sizes (stock state per size)."""

    serializer_class = ProductDetailSerializer
    authentication_classes: list = []
    permission_classes: list = []

    def get_object(self) -> Product:
        return selectors.product_get(slug=self.kwargs["slug"])


product_list_api = page_cache(
    ["catalog"], name="api_product_list", params=tuple(ProductQuerySerializer().fields)
)(ProductListApi.as_view())
product_detail_api = page_cache(
    lambda slug: selectors.product_page_tags(slug=slug), name="api_product_detail"
)(ProductDetailApi.as_view())
