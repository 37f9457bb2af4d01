"""The public, read-only products API (/api/v1/products). Anonymous responses
are cached whole under the same tags as the pages (rdk.pagecache)."""

from __future__ import annotations

from decimal import Decimal

from django.core.files.storage import default_storage
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.pagination import PageNumberPagination

from catalog import selectors
from catalog.forms import SLUG
from catalog.models import Product, ProductImage, Variant
from catalog.selectors import ProductFilters
from rdk.api import EMPTY_MEANS_ABSENT, error_responses
from rdk.pagecache import page_cache

ORDERING = {
    "newest": "newest",
    "price": "price_asc",
    "-price": "price_desc",
    "relevance": "relevance",
}
MAX_AMOUNT = 2_147_483_647  # PostgreSQL integer, the price column's type
MAX_PAGE = 100_000


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
        required=False, min_value=0, max_value=MAX_AMOUNT, help_text="Lowest price in cents."
    )
    max_price = serializers.IntegerField(
        required=False, min_value=0, max_value=MAX_AMOUNT, help_text="Highest price in cents."
    )
    in_stock = serializers.BooleanField(required=False, default=False)
    ordering = serializers.ChoiceField(choices=list(ORDERING), required=False, default="newest")
    page = serializers.IntegerField(required=False, min_value=1, max_value=MAX_PAGE)
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


# The query parameters as the server treats them: an empty value (`?size=`)
# means the parameter was not given, except for `brand`, whose items may not
# be empty.
def _query(name: str, schema: dict, description: str) -> OpenApiParameter:
    return OpenApiParameter(
        name,
        type=schema,
        location=OpenApiParameter.QUERY,
        description=description,
        extensions={EMPTY_MEANS_ABSENT: True},
    )


PRODUCT_QUERY_PARAMETERS = [
    _query(
        "search",
        {"type": "string", "maxLength": 100, "pattern": "^[^\\u0000]*$"},
        "Words to find in the name, colourway, brand or style code, in any order; "
        "small typos are forgiven. Empty: no search.",
    ),
    OpenApiParameter(
        "brand",
        type={
            "type": "array",
            "items": {"type": "string", "pattern": f"^{SLUG.pattern}$", "maxLength": 80},
            "maxItems": 20,
        },
        location=OpenApiParameter.QUERY,
        description="Brand slug; repeat for several brands (at most 20).",
        explode=True,
    ),
    _query(
        "size",
        {"type": "number", "minimum": 1, "maximum": 20, "multipleOf": 0.5},
        "US size with an available or sold-out variant; whole and half sizes.",
    ),
    _query(
        "min_price",
        {"type": "integer", "minimum": 0, "maximum": MAX_AMOUNT},
        "Lowest price in cents. A min_price above max_price is a 400.",
    ),
    _query(
        "max_price",
        {"type": "integer", "minimum": 0, "maximum": MAX_AMOUNT},
        "Highest price in cents.",
    ),
    _query(
        "in_stock",
        {"type": "boolean", "default": False},
        "Only products with at least one size available.",
    ),
    _query(
        "ordering",
        {"type": "string", "enum": list(ORDERING), "default": "newest"},
        "`newest` first, `price` low to high, `-price` high to low, or `relevance` "
        "(best match first when searching).",
    ),
    _query(
        "page",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
        "Page number; a page past the last is a 404.",
    ),
    _query(
        "page_size",
        {"type": "integer", "minimum": 1, "maximum": 100, "default": 24},
        "Products per page.",
    ),
]


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
        # image_path: annotated by the API's queryset (catalog.selectors).
        path = product.image_path  # type: ignore[attr-defined]
        return default_storage.url(path) if path else None


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

    @extend_schema(
        parameters=PRODUCT_QUERY_PARAMETERS,
        responses={200: ProductListSerializer(many=True), **error_responses(400, 404)},
    )
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

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "slug",
                str,
                OpenApiParameter.PATH,
                pattern=r"^[-a-zA-Z0-9_]+$",
                description="The product's slug, as in its `url`.",
            )
        ],
        responses={200: ProductDetailSerializer, **error_responses(404)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_object(self) -> Product:
        return selectors.product_get(slug=self.kwargs["slug"])


product_list_api = page_cache(
    ["catalog"], name="api_product_list", params=tuple(ProductQuerySerializer().fields)
)(ProductListApi.as_view())
product_detail_api = page_cache(
    lambda slug: selectors.product_page_tags(slug=slug), name="api_product_detail"
)(ProductDetailApi.as_view())
