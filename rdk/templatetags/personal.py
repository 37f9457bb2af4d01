"""`{% personal "rdk/personal/<part>.html" %}`: the per-visitor parts of a page
that is otherwise the same for everyone (the header's account links and cart
count, flash messages, a form's CSRF token).

Rendered normally, the tag includes the template in place. While
`rdk.pagecache` renders a page's shared *shell* for signed-in visitors, it
writes a slot marker instead; each request then fills the slots from these
templates alone, without rendering the rest of the page again."""

from __future__ import annotations

from django import template
from django.template.base import Parser, Token
from django.template.context import Context
from django.template.loader import get_template

from rdk.pagecache import PERSONAL_PREFIX, is_rendering_shell, slot_marker

register = template.Library()


class PersonalNode(template.Node):
    def __init__(self, name: str) -> None:
        self.name = name

    def render(self, context: Context) -> str:
        if is_rendering_shell(context.get("request")):
            return slot_marker(self.name)
        # The Django backend's wrapper; its `template` renders with this very context.
        html: str = get_template(self.name).template.render(context)  # type: ignore[attr-defined]
        return html


@register.tag("personal")
def do_personal(parser: Parser, token: Token) -> PersonalNode:
    bits = token.split_contents()
    if len(bits) != 2 or bits[1][0] not in "\"'" or bits[1][-1] != bits[1][0]:
        raise template.TemplateSyntaxError(f"'{bits[0]}' takes one quoted template name.")
    name = bits[1][1:-1]
    if not name.startswith(PERSONAL_PREFIX):
        raise template.TemplateSyntaxError(f"Personal parts live under {PERSONAL_PREFIX}.")
    return PersonalNode(name)
