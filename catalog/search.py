"""Shopper search: forgiving of typos and word order.

On PostgreSQL every word of the query must be close to a word of the
product's name, colourway or brand (pg_trgm's word similarity, the `<%`
operator, served by the GIN trigram indexes of migration 0003) or appear in
one of those fields or the style code; results rank by how well the whole
query matches. SQLite (`make run`) has no trigrams: each word must appear in
one of the fields, in any order, and "Did you mean" (`search_suggestion`)
corrects the typos it cannot forgive.
"""

from __future__ import annotations

import difflib
import re

from django.contrib.postgres.lookups import TrigramWordSimilar
from django.contrib.postgres.search import TrigramWordSimilarity
from django.core.cache import cache
from django.db import connection
from django.db.models import Case, Expression, F, FloatField, Q, QuerySet, Value, When

from catalog.models import Brand, Product
from rdk.cachetags import tagged_key
from rdk.switches import switch_is_on

MAX_WORDS = 8
VOCABULARY_TTL = 3600
_WORD = re.compile(r"[\w'’-]+")
# Fields a word may appear in; the first three are also matched by trigrams.
TEXT_FIELDS = ("name", "colorway", "brand__name")


def search_words(term: str) -> list[str]:
    """The query's words, lower-cased, at most MAX_WORDS of them."""
    return [word.lower() for word in _WORD.findall(term)][:MAX_WORDS]


def _uses_trigrams() -> bool:
    return connection.vendor == "postgresql"


def _word_matches(word: str) -> Q:
    contains = Q(style_code__icontains=word)
    for field in TEXT_FIELDS:
        contains |= Q(**{f"{field}__icontains": word})
    if _uses_trigrams() and len(word) >= 3:
        for field in TEXT_FIELDS:
            contains |= Q(TrigramWordSimilar(F(field), Value(word)))
    return contains


def product_search(products: QuerySet[Product], *, term: str) -> QuerySet[Product]:
    """`products` narrowed to those matching every word of `term`, annotated
    with `search_rank` (higher is better)."""
    words = search_words(term)
    for word in words:
        products = products.filter(_word_matches(word))
    phrase = " ".join(words)
    if _uses_trigrams():
        # The stubs want a str first; Django takes any expression (a Value here).
        rank: Expression = (
            2 * TrigramWordSimilarity(Value(phrase), "name")  # type: ignore[arg-type]
            + TrigramWordSimilarity(Value(phrase), "brand__name")  # type: ignore[arg-type]
            + TrigramWordSimilarity(Value(phrase), "colorway")  # type: ignore[arg-type]
        )
    else:
        rank = Case(
            When(name__icontains=phrase, then=Value(2.0)),
            When(brand__name__icontains=phrase, then=Value(1.0)),
            default=Value(0.0),
            output_field=FloatField(),
        )
    return products.annotate(search_rank=rank)


def _vocabulary() -> list[str]:
    """Every word of active products' names and colourways and of brand
    names, cached under the `catalog` tag (read afresh with caching bypassed:
    the `cache.force_dynamic` switch)."""
    if switch_is_on("cache.force_dynamic"):
        return _vocabulary_load()
    key = tagged_key("search-vocabulary", ["catalog"])
    words: list[str] | None = cache.get(key)
    if words is None:
        words = _vocabulary_load()
        cache.set(key, words, VOCABULARY_TTL)
    return words


def _vocabulary_load() -> list[str]:
    texts = Product.objects.filter(is_active=True).values_list("name", "colorway")
    found = {word for row in texts for text in row for word in search_words(text)}
    brands = Brand.objects.values_list("name", flat=True)
    found.update(word for name in brands for word in search_words(name))
    return sorted(word for word in found if len(word) >= 2)


def search_suggestion(term: str) -> str | None:
    """`term` with each unknown word replaced by the closest catalog word,
    or None when no word could be corrected."""
    vocabulary = _vocabulary()
    known = set(vocabulary)
    words = search_words(term)
    corrected = []
    for word in words:
        if word in known or word.isdigit():
            corrected.append(word)
            continue
        close = difflib.get_close_matches(word, vocabulary, n=1, cutoff=0.6)
        corrected.append(close[0] if close else word)
    if corrected == words:
        return None
    return " ".join(corrected)
