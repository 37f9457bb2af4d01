"""The demo catalog behind `manage.py seed_demo`: deterministic (a fixed random
seed), realistic, with sneaker images drawn locally by Pillow."""

from __future__ import annotations

import datetime as dt
import io
import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.text import slugify
from PIL import Image, ImageDraw, ImageFont

from catalog.models import Brand, Product, ProductImage, Variant
from rdk.cachetags import revalidate_tag

SEED = 20261126
PRODUCT_COUNT = 160
IMAGE_SIZE = (720, 540)

BRANDS: dict[str, tuple[str, list[str]]] = {
    "Nike": (
        "NK",
        [
            "Air Max 90",
            "Air Max 1",
            "Dunk Low",
            "Dunk High",
            "Air Force 1 Low",
            "Blazer Mid '77",
            "Cortez",
            "Pegasus 41",
            "Vomero 5",
        ],
    ),
    "Jordan": (
        "JD",
        [
            "Air Jordan 1 Retro High OG",
            "Air Jordan 1 Low",
            "Air Jordan 3 Retro",
            "Air Jordan 4 Retro",
            "Air Jordan 11 Retro",
        ],
    ),
    "adidas": (
        "AD",
        [
            "Samba OG",
            "Gazelle",
            "Campus 00s",
            "Superstar",
            "Forum Low",
            "Ultraboost 1.0",
            "Stan Smith",
        ],
    ),
    "New Balance": ("NB", ["990v6", "550", "2002R", "9060", "574", "1906R"]),
    "ASICS": ("AS", ["GEL-Kayano 14", "GEL-1130", "GEL-NYC", "GT-2160", "GEL-Lyte III"]),
    "Puma": ("PU", ["Suede Classic", "Palermo", "Speedcat OG", "RS-X"]),
    "Reebok": ("RB", ["Club C 85", "Classic Leather", "Instapump Fury"]),
    "Converse": ("CV", ["Chuck 70 Hi", "Chuck 70 Ox", "One Star Pro"]),
    "Vans": ("VN", ["Old Skool", "Sk8-Hi", "Knu Skool", "Authentic"]),
    "Saucony": ("SC", ["Shadow 6000", "Jazz Original", "ProGrid Omni 9"]),
    "Salomon": ("SL", ["XT-6", "ACS Pro", "XT-Whisper"]),
    "HOKA": ("HK", ["Clifton 9", "Bondi 8", "Mafate Speed 2"]),
    "On": ("ON", ["Cloudmonster", "Cloud 5", "Cloudtilt"]),
    "Mizuno": ("MZ", ["Wave Rider 10", "Contender S"]),
}

COLORWAYS = [
    ("Panda", "#111111", "#f4f4f4"),
    ("University Blue", "#7bafd4", "#ffffff"),
    ("Bred", "#b01e23", "#111111"),
    ("Triple White", "#f2f2f2", "#dcdcdc"),
    ("Sail/Gum", "#efe6d2", "#b5763a"),
    ("Forest Green", "#1f5135", "#f1ede4"),
    ("Infrared", "#ff3b3f", "#2b2b2b"),
    ("Sea Salt", "#e8e4dc", "#9aa7a3"),
    ("Navy/Grey", "#1d2a44", "#9ca3af"),
    ("Volt", "#cdef2c", "#1c1c1c"),
    ("Mocha", "#6b4a3a", "#e9dccb"),
    ("Royal Blue", "#1e4fd8", "#f8f8f8"),
    ("Shadow Grey", "#5f6368", "#d1d5db"),
    ("Pine Green", "#0f5b45", "#ffffff"),
    ("Court Purple", "#5b2a86", "#f1f1f1"),
    ("Bone/Orange", "#eee8dc", "#f26b21"),
    ("Black Cat", "#0b0b0b", "#3a3a3a"),
    ("Sunset Pulse", "#ff8a3d", "#6b2fbf"),
    ("Pale Ivory", "#f3ecdd", "#c9b99a"),
    ("Team Red", "#c8102e", "#ffffff"),
]
DESCRIPTIONS = [
    "Premium leather upper with tonal overlays and a cushioned midsole for all-day wear.",
    "A faithful retro build: suede overlays, a padded collar and the original rubber outsole.",
    "Breathable mesh, a responsive foam midsole and a grippy outsole for city miles.",
    "Tumbled leather, contrast stitching and a vintage-toned sole for a worn-in look.",
    "Lightweight knit upper and a plush ride built for comfort from the first step.",
]


@dataclass
class SeedResult:
    brands_created: int = 0
    products_created: int = 0
    variants_created: int = 0
    images_created: int = 0
    products_total: int = 0


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    for name in ("DejaVuSans-Bold.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size)


def sneaker_image(*, brand: str, model: str, primary: str, secondary: str, angle: int = 0) -> bytes:
    """A JPEG of a drawn sneaker silhouette in the colorway, with brand and model."""
    width = IMAGE_SIZE[0]
    image = Image.new("RGB", IMAGE_SIZE, "#f3f3f5" if angle == 0 else "#ebecef")
    draw = ImageDraw.Draw(image)
    draw.ellipse((110, 400, 610, 450), fill="#d9dadf")
    flip = angle % 2 == 1
    sole = [(110, 360), (600, 360), (620, 395), (600, 412), (120, 412), (100, 390)]
    upper = [
        (120, 362),
        (130, 250),
        (210, 200),
        (300, 190),
        (340, 250),
        (430, 290),
        (560, 300),
        (610, 340),
        (600, 362),
    ]
    collar = [(130, 250), (210, 200), (300, 190), (290, 228), (215, 240)]
    swoosh = [(250, 330), (470, 280), (520, 300), (300, 350)]
    laces = [(320 + 22 * i, 238 + 10 * i, 340 + 22 * i, 246 + 10 * i) for i in range(5)]
    if flip:

        def mirror(points):
            return [(width - x, y) for x, y in points]

        sole, upper, collar, swoosh = map(mirror, (sole, upper, collar, swoosh))
        laces = [(width - x2, y1, width - x1, y2) for x1, y1, x2, y2 in laces]
    draw.polygon(upper, fill=primary, outline="#222222")
    draw.polygon(collar, fill=secondary, outline="#222222")
    draw.polygon(swoosh, fill=secondary)
    draw.polygon(sole, fill="#fafafa", outline="#555555")
    draw.line([sole[0], sole[1]], fill=secondary, width=6)
    for box in laces:
        draw.rounded_rectangle(box, radius=3, fill="#fdfdfd", outline="#777777")
    draw.text((36, 30), brand.upper(), font=_font(30), fill="#14151a")
    draw.text((36, 70), model, font=_font(22), fill="#4a4d57")
    draw.rectangle((width - 110, 30, width - 36, 60), fill="#14151a")
    draw.text((width - 98, 34), "RDK", font=_font(20), fill="#ff5a1f")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=82, optimize=True)
    return buffer.getvalue()


def _plan(rng: random.Random) -> list[dict]:
    """Every product of the demo catalog, decided by the seeded generator."""
    plans: list[dict] = []
    seen: set[str] = set()
    brand_names = list(BRANDS)
    start = dt.date(2024, 3, 1)
    index = 0
    while len(plans) < PRODUCT_COUNT:
        brand = brand_names[index % len(brand_names)]
        prefix, models = BRANDS[brand]
        model = rng.choice(models)
        colorway, primary, secondary = rng.choice(COLORWAYS)
        index += 1
        slug = slugify(f"{brand} {model} {colorway}")
        if slug in seen:
            continue
        seen.add(slug)
        base = rng.choice(
            [
                6500,
                8000,
                9000,
                10000,
                11000,
                12000,
                14000,
                16000,
                18000,
                19000,
                21000,
                23000,
                26000,
                32000,
                45000,
            ]
        )
        size_count = rng.randint(8, 14)
        first_size = Decimal(rng.choice(["6", "6.5", "7", "7.5", "8"]))
        sold_out_product = rng.random() < 0.08
        stock = []
        for _ in range(size_count):
            roll = rng.random()
            stock.append(
                0 if sold_out_product or roll < 0.18 else 1 if roll < 0.3 else rng.randint(2, 12)
            )
        plans.append(
            {
                "brand": brand,
                "name": model,
                "slug": slug,
                "colorway": colorway,
                "primary": primary,
                "secondary": secondary,
                "style_code": f"{prefix}{rng.randint(1000, 9999)}-{rng.randint(1, 699):03d}",
                "description": rng.choice(DESCRIPTIONS),
                "release_date": start + dt.timedelta(days=rng.randint(0, 1000)),
                "price_amount": base + rng.choice([0, 0, 0, 500, 1000]),
                "is_featured": rng.random() < 0.06,
                "max_per_size": 1 if base >= 26000 else 2,
                "sizes": [first_size + Decimal("0.5") * i for i in range(size_count)],
                "stock": stock,
            }
        )
    return plans


def demo_seed(*, progress: Callable[[int, int, str], None] | None = None) -> SeedResult:
    """Create the demo catalog; products that already exist are left alone."""
    rng = random.Random(SEED)  # noqa: S311 (demo data, deterministic on purpose)  # nosec B311
    plans = _plan(rng)
    result = SeedResult()
    known = {brand.slug: brand for brand in Brand.objects.filter(slug__in=map(slugify, BRANDS))}
    missing = [
        Brand(name=name, slug=slugify(name), description=f"{name} sneakers, verified authentic.")
        for name in BRANDS
        if slugify(name) not in known
    ]
    Brand.objects.bulk_create(missing)  # no signals: the `catalog` revalidation below covers them
    result.brands_created = len(missing)
    known = {brand.slug: brand for brand in Brand.objects.filter(slug__in=map(slugify, BRANDS))}
    brands = {name: known[slugify(name)] for name in BRANDS}
    existing = set(
        Product.objects.filter(slug__in=[p["slug"] for p in plans]).values_list("slug", flat=True)
    )
    created_ids = []
    for number, plan in enumerate(plans, start=1):
        if plan["slug"] not in existing:
            created_ids.append(_create_product(plan, brands[plan["brand"]], result))
        if progress:
            progress(number, len(plans), plan["slug"])
    result.products_total = Product.objects.count()
    if created_ids or missing:
        revalidate_tag("catalog", reason=f"seed_demo created {len(created_ids)} product(s)")
    return result


@transaction.atomic
def _create_product(plan: dict, brand: Brand, result: SeedResult) -> int:
    # bulk_create sends no signals: a new product has nothing cached under its
    # own tag, so the one `catalog` revalidation at the end is all it needs.
    [product] = Product.objects.bulk_create(
        [
            Product(
                brand=brand,
                name=plan["name"],
                slug=plan["slug"],
                colorway=plan["colorway"],
                style_code=plan["style_code"],
                description=plan["description"],
                release_date=plan["release_date"],
                price_amount=plan["price_amount"],
                is_featured=plan["is_featured"],
                max_per_size=plan["max_per_size"],
            )
        ]
    )
    variants = [
        Variant(
            product=product,
            size_scheme="US",
            size=size,
            sku=f"{plan['style_code']}-{size.normalize():f}".replace(".", "H"),
            stock_on_hand=stock,
        )
        for size, stock in zip(plan["sizes"], plan["stock"], strict=True)
    ]
    Variant.objects.bulk_create(variants)
    images = []
    for angle in range(2):
        content = sneaker_image(
            brand=brand.name,
            model=plan["name"],
            primary=plan["primary"] if angle == 0 else plan["secondary"],
            secondary=plan["secondary"] if angle == 0 else plan["primary"],
            angle=angle,
        )
        path = default_storage.save(
            f"products/demo/{plan['slug']}-{angle + 1}.jpg", ContentFile(content)
        )
        view = "side" if angle == 0 else "other side"
        images.append(
            ProductImage(
                product=product,
                image=path,
                alt_text=f"{brand.name} {plan['name']} in {plan['colorway']}, {view} view",
                position=angle,
            )
        )
    ProductImage.objects.bulk_create(images)
    result.products_created += 1
    result.variants_created += len(variants)
    result.images_created += len(images)
    return product.pk
