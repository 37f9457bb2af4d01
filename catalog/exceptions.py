"""Catalog domain errors."""

from rdk.exceptions import RdkError


class CatalogError(RdkError):
    code = "catalog_error"


class InvalidImage(CatalogError):
    code = "invalid_image"


class StockError(CatalogError):
    code = "invalid_stock"
