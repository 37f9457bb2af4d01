"""Tag-based cache revalidation: RDK's answer to ISR's `revalidateTag()`.

Cached pages and fragments are stored under keys that embed the current
*version* of each tag they depend on (`catalog`, `brand:<id>`, `product:<id>`).
Tag versions live in the shared cache, so `revalidate_tag("product:7")` bumps
one number and every process computes new keys on its next render: entries
under the old version are never read again and expire by TTL. No key scanning.

Writes call `revalidate_tag` inside their transaction; the bump happens only
once the transaction commits, so a rolled-back write revalidates nothing and a
reader never caches pre-commit data under the new version.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from typing import TypedDict

from django.core.cache import cache
from django.db import transaction

from rdk.requestid import get_request_id

logger = logging.getLogger(__name__)

VERSION_PREFIX = "tagv:"
LOG_KEY = "cachetags:log"
LOG_LIMIT = 200


def _initial_version() -> int:
    # A version that never existed before, so keys built after the shared cache
    # lost its counters (a flush, an eviction) never equal keys built before it:
    # per-process copies of entries (rdk.pagecache) rely on that.
    return time.time_ns()


def tag_versions(tags: Iterable[str]) -> dict[str, int]:
    """Current version of each tag (one cache round trip for all of them)."""
    tags = list(dict.fromkeys(tags))
    keys = [VERSION_PREFIX + tag for tag in tags]
    found = cache.get_many(keys)
    missing = [key for key in keys if key not in found]
    if missing:
        initial = _initial_version()
        for key in missing:
            cache.add(key, initial, timeout=None)
        found.update(cache.get_many(missing))
        # Still missing: the cache is unreachable (rdk.cache). A version of its
        # own makes a key nothing was stored under, so the page renders afresh
        # rather than from a per-process copy a revalidation could not reach.
        for key in missing:
            found.setdefault(key, initial)
    return {tag: int(found[VERSION_PREFIX + tag]) for tag in tags}


def tagged_key(name: str, tags: Iterable[str], *parts: object) -> str:
    """A cache key for `name` that changes whenever any of `tags` is revalidated."""
    versions = tag_versions(tags)
    stamp = ",".join(f"{tag}={version}" for tag, version in sorted(versions.items()))
    raw = "|".join([name, stamp, *map(str, parts)])
    return "frag:" + hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()


class Revalidation(TypedDict):
    """One entry of the revalidation log (the ops console's Cache page)."""

    at: float  # a Unix time
    tags: list[str]
    reason: str
    request_id: str | None


def _bump(tags: tuple[str, ...], reason: str, request_id: str | None) -> None:
    for tag in tags:
        key = VERSION_PREFIX + tag
        # add() creates the counter if absent; incr() is atomic in Redis.
        cache.add(key, _initial_version(), timeout=None)
        try:
            cache.incr(key)
        except ValueError:  # evicted between add and incr
            cache.set(key, _initial_version(), timeout=None)
    entry: Revalidation = {
        "at": time.time(),
        "tags": list(tags),
        "reason": reason,
        "request_id": request_id,
    }
    history: list[Revalidation] = cache.get(LOG_KEY) or []
    cache.set(LOG_KEY, [entry, *history][:LOG_LIMIT], timeout=None)
    logger.info("cache.revalidate", extra={"tags": list(tags), "reason": reason})


def revalidate_tag(*tags: str, reason: str) -> None:
    """Make everything cached under `tags` fresh on its next render, in every
    process, once the current transaction (if any) commits."""
    if not tags:
        return
    request_id = get_request_id()
    transaction.on_commit(lambda: _bump(tuple(dict.fromkeys(tags)), reason, request_id))


# Tag kinds the apps declare (`catalog` declares catalog, brand:<id> and
# product:<id>), each with a test of whether `kind:<id>` names something. A
# manual revalidation of anything else (a typo, a deleted product) is refused:
# it would report success and change nothing.
_TAG_KINDS: dict[str, Callable[[str], bool] | None] = {}


def tag_kind_register(kind: str, exists: Callable[[str], bool] | None = None) -> None:
    """Declare tag `kind` (no `exists`) or `kind:<id>` (`exists(id)` says whether
    the id names something)."""
    _TAG_KINDS[kind] = exists


def tag_kinds() -> list[str]:
    return [kind if exists is None else f"{kind}:<id>" for kind, exists in _TAG_KINDS.items()]


def tags_unknown(tags: Iterable[str]) -> list[str]:
    """The tags among `tags` that name no declared kind, or nothing that exists."""
    unknown = []
    for tag in tags:
        kind, sep, ident = tag.partition(":")
        if kind not in _TAG_KINDS:
            unknown.append(tag)
            continue
        exists = _TAG_KINDS[kind]
        if (exists is None) == bool(sep) or (exists is not None and not exists(ident)):
            unknown.append(tag)
    return unknown


def revalidation_log(limit: int = 50) -> list[Revalidation]:
    """The most recent revalidations, newest first (bounded to LOG_LIMIT)."""
    log: list[Revalidation] = cache.get(LOG_KEY) or []
    return log[:limit]
