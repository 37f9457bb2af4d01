"""The base of every model factory in the tests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import factory.django
from django.db.models import Model


class ModelFactory[M: Model](factory.django.DjangoModelFactory[M]):
    """A DjangoModelFactory whose call has the model's type for the type checker:
    `ProductFactory()` is a `Product`, as it is at run time (factory-boy builds
    the instance in its metaclass, which mypy cannot see)."""

    class Meta:
        abstract = True

    if TYPE_CHECKING:

        def __new__(cls, *args: Any, **kwargs: Any) -> M: ...  # type: ignore[misc]  # returns the model, not the factory
