"""Product images are checked by what they contain, not by their file name."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from PIL import Image, UnidentifiedImageError

ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP"}
MAX_BYTES = 5 * 1024 * 1024
MIN_SIDE = 200
MAX_SIDE = 4000


def validate_product_image(file) -> None:
    """Refuse anything Pillow cannot decode as a JPEG, PNG or WebP of sane size."""
    size = getattr(file, "size", None)
    if size is not None and size > MAX_BYTES:
        raise ValidationError("The image is larger than 5 MB.", code="image_too_large")
    try:
        position = file.tell()
    except (AttributeError, OSError, ValueError):
        position = None
    try:
        file.seek(0)
        with Image.open(file) as image:
            image_format = image.format
            width, height = image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError(
            "The file is not an image we can read (JPEG, PNG or WebP).", code="image_unreadable"
        ) from None
    finally:
        if position is not None:
            file.seek(position)
    if image_format not in ALLOWED_FORMATS:
        raise ValidationError(
            f"{image_format} images are not accepted; use JPEG, PNG or WebP.",
            code="image_format",
        )
    if min(width, height) < MIN_SIDE or max(width, height) > MAX_SIDE:
        raise ValidationError(
            f"The image is {width}×{height}; each side must be {MIN_SIDE} to {MAX_SIDE} pixels.",
            code="image_dimensions",
        )
