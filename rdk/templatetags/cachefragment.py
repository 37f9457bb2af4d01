"""`{% cachefragment "name" tag… [key=value] [ttl=seconds] %}…{% endcachefragment %}`

Caches the enclosed template output in the shared cache under a key built
from the fragment name, the current version of each tag and `key`. Revalidating
any of the tags (rdk.cachetags.revalidate_tag) makes the next render fresh. The
`cache.force_dynamic` switch renders every fragment afresh.

`fragments_cached` is the same for many fragments at once, for template tags
that render a list (a grid of product cards): one cache round trip for all of
them instead of one each."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from django import template
from django.core.cache import cache
from django.template.base import FilterExpression, NodeList, Parser, Token
from django.template.context import Context

from rdk.cachetags import tag_versions, tagged_key
from rdk.switches import switch_is_on

register = template.Library()

FRAGMENT_TTL = 3600


class Fragment(NamedTuple):
    """Where one fragment is cached: the key `{% cachefragment name tag… key=key %}` uses."""

    name: str
    tags: Sequence[str]
    key: object


def fragments_cached(
    fragments: Sequence[Fragment], render: Callable[[int], str], *, ttl: int = FRAGMENT_TTL
) -> list[str]:
    """The HTML of each of `fragments`, from the shared cache where it holds
    them, else `render(index)`, stored for the next request. At most three
    cache round trips whatever their number (the tag versions, unless this
    process read them a moment ago; the fragments; the missing ones written),
    and none with the `cache.force_dynamic` switch on: then every fragment is
    rendered."""
    if switch_is_on("cache.force_dynamic"):
        return [render(index) for index in range(len(fragments))]
    versions = tag_versions(tag for fragment in fragments for tag in fragment.tags)
    keys = [
        tagged_key(f"fragment:{name}", tags, key, versions=versions)
        for name, tags, key in fragments
    ]
    found = cache.get_many(keys)
    missing: dict[str, str] = {}
    html = []
    for index, key in enumerate(keys):
        part = found.get(key)
        if part is None:
            part = missing[key] = render(index)
        html.append(part)
    if missing:
        cache.set_many(missing, ttl)
    return html


class CacheFragmentNode(template.Node):
    def __init__(
        self,
        nodelist: NodeList,
        name: FilterExpression,
        tags: list[FilterExpression],
        key: FilterExpression | None,
        ttl: FilterExpression | None,
    ) -> None:
        self.nodelist = nodelist
        self.name = name
        self.tags = tags
        self.key = key
        self.ttl = ttl

    def render(self, context: Context) -> str:
        if switch_is_on("cache.force_dynamic"):  # before resolving what only the key needs
            return self.nodelist.render(context)
        fragment = Fragment(
            name=self.name.resolve(context),
            tags=[str(tag.resolve(context)) for tag in self.tags],
            key=self.key.resolve(context) if self.key is not None else "",
        )
        ttl = int(self.ttl.resolve(context)) if self.ttl is not None else FRAGMENT_TTL
        return fragments_cached([fragment], lambda _: self.nodelist.render(context), ttl=ttl)[0]


@register.tag("cachefragment")
def do_cachefragment(parser: Parser, token: Token) -> CacheFragmentNode:
    bits = token.split_contents()
    if len(bits) < 3:
        raise template.TemplateSyntaxError(
            f"'{bits[0]}' needs a fragment name and at least one tag."
        )
    nodelist = parser.parse(("endcachefragment",))
    parser.delete_first_token()
    name = parser.compile_filter(bits[1])
    tags: list[FilterExpression] = []
    key: FilterExpression | None = None
    ttl: FilterExpression | None = None
    for bit in bits[2:]:
        if bit.startswith("key="):
            key = parser.compile_filter(bit[4:])
        elif bit.startswith("ttl="):
            ttl = parser.compile_filter(bit[4:])
        else:
            tags.append(parser.compile_filter(bit))
    if not tags:
        raise template.TemplateSyntaxError(f"'{bits[0]}' needs at least one tag.")
    return CacheFragmentNode(nodelist, name, tags, key, ttl)
