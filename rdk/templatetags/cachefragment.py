"""`{% cachefragment "name" tag… [key=value] [ttl=seconds] %}…{% endcachefragment %}`

Caches the enclosed template output in the shared cache under a key built
from the fragment name, the current version of each tag and `key`. Revalidating
any of the tags (rdk.cachetags.revalidate_tag) makes the next render fresh. The
`cache.force_dynamic` switch renders every fragment afresh."""

from __future__ import annotations

from django import template
from django.core.cache import cache
from django.template.base import FilterExpression, NodeList, Parser, Token
from django.template.context import Context

from rdk.cachetags import tagged_key
from rdk.switches import switch_is_on

register = template.Library()

FRAGMENT_TTL = 3600


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
        if switch_is_on("cache.force_dynamic"):
            return self.nodelist.render(context)
        name = self.name.resolve(context)
        tags = [str(tag.resolve(context)) for tag in self.tags]
        key_part = self.key.resolve(context) if self.key is not None else ""
        ttl = int(self.ttl.resolve(context)) if self.ttl is not None else FRAGMENT_TTL
        key = tagged_key(f"fragment:{name}", tags, key_part)
        html: str | None = cache.get(key)
        if html is None:
            html = self.nodelist.render(context)
            cache.set(key, html, ttl)
        return html


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
