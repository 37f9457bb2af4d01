"""Manual tag revalidation from the console (RUNBOOK §2.1 step 5)."""

from __future__ import annotations

import re

from opsadmin.exceptions import TagInvalid
from rdk.audit import audit_record
from rdk.cachetags import revalidate_tag, tags_unknown

TAG = re.compile(r"catalog|(brand|product):\d{1,12}")


def tags_revalidate(*, tags: list[str], reason: str, actor: str) -> list[str]:
    bad = [tag for tag in tags if not TAG.fullmatch(tag)]
    if bad or not tags:
        raise TagInvalid(f"Not a cache tag: {(bad or [''])[0]!r}.")
    unknown = tags_unknown(tags)
    if unknown:
        raise TagInvalid(f"No such cache tag: {unknown[0]!r} (nothing was revalidated).")
    revalidate_tag(*tags, reason=f"{reason} (by {actor})")
    audit_record(action="cache.revalidate", actor=actor, target=" ".join(tags), reason=reason)
    return tags
