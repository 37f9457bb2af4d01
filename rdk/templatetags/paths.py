"""`{% path "name" %}`: `{% url "name" %}` for a URL without arguments,
reversed once per process.

The personal slots of signed-in pages (templates/rdk/personal/) are rendered on
every request, and their eight `{% url %}` tags were a sixth of a signed-in
catalog page's CPU: each `reverse()` walks the resolver, the script prefix and
the active language. A URL without arguments only changes with the URL
configuration or the script prefix, which make the key; a name that needs
arguments is an error here, as `{% url %}` without them would be."""

from __future__ import annotations

import functools

from django import template
from django.urls import get_script_prefix, get_urlconf, reverse

from rdk.lrucache import forget_when_changed

register = template.Library()


@functools.lru_cache(maxsize=256)
def _reversed(name: str, urlconf: str | None, prefix: str) -> str:
    return reverse(name, urlconf=urlconf)


@register.simple_tag
def path(name: str) -> str:
    """The path of the URL named `name` (no arguments)."""
    return _reversed(name, get_urlconf(), get_script_prefix())


forget_when_changed("ROOT_URLCONF", _reversed)
