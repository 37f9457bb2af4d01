"""`{% path %}`: `{% url %}` for URLs without arguments, reversed once."""

import pytest
from django.template import Context, Template, TemplateSyntaxError
from django.urls import NoReverseMatch, reverse, set_script_prefix

from rdk.templatetags import paths


def render(source: str) -> str:
    return Template("{% load paths %}" + source).render(Context())


def test_a_path_is_what_url_gives():
    for name in ("orders:cart", "orders:order_list", "catalog:product_list", "home"):
        assert render(f"{{% path '{name}' %}}") == reverse(name)


def test_a_path_is_reversed_once(monkeypatch):
    paths._reversed.cache_clear()
    calls = []
    original = paths.reverse
    monkeypatch.setattr(paths, "reverse", lambda *a, **k: calls.append(a) or original(*a, **k))
    assert render("{% path 'orders:cart' %} {% path 'orders:cart' %}") == "/cart /cart"
    assert len(calls) == 1


def test_the_script_prefix_is_part_of_the_key():
    try:
        set_script_prefix("/shop/")
        assert render("{% path 'orders:cart' %}") == "/shop/cart"
    finally:
        set_script_prefix("/")
    assert render("{% path 'orders:cart' %}") == "/cart"


def test_a_name_that_needs_arguments_fails_as_url_would():
    with pytest.raises(NoReverseMatch):
        render("{% path 'catalog:product_detail' %}")
    with pytest.raises(TemplateSyntaxError):
        Template("{% load paths %}{% path %}")
