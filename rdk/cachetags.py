"""Tag-based cache revalidation: RDK's answer to ISR's `revalidateTag()`.

Cached pages and fragments are stored under keys that embed the current
*version* of each tag they depend on (`catalog`, `brand:<id>`, `product:<id>`).
Tag versions live in the shared cache, so `revalidate_tag("product:7")` gives
the tag a new version and every process computes new keys on its next render:
entries under the old version are never read again and expire by TTL. No key
scanning.

A new version is any number the tag never had: the clock in nanoseconds. So
a revalidation reads nothing first and writes all its tags in one round trip
(`set_many`, one pipelined MSET), where a counter cost three per tag (create
it if missing, check it exists, increment it).

Writes call `revalidate_tag` inside their transaction; the new versions are
written only once the transaction commits, so a rolled-back write revalidates
nothing and a reader never caches pre-commit data under the new version.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable

from django.core.cache import cache
from django.db import transaction

from rdk.requestid import get_request_id

logger = logging.getLogger(__name__)

VERSION_PREFIX = "tagv:"
LOG_KEY = "cachetags:log"
LOG_LIMIT = 200


def _new_version() -> int:
    # A version that never existed before, also after the shared cache lost its
    # versions (a flush, an eviction): keys built after it never equal keys
    # built before it, which per-process copies of entries (rdk.pagecache) rely on.
    return time.time_ns()


def tag_versions(tags: Iterable[str]) -> dict[str, int]:
    """Current version of each tag (one cache round trip for all of them)."""
    tags = list(dict.fromkeys(tags))
    keys = [VERSION_PREFIX + tag for tag in tags]
    found = cache.get_many(keys)
    missing = [key for key in keys if key not in found]
    if missing:
        initial = _new_version()
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


def _bump(tags: tuple[str, ...], reason: str, request_id: str | None) -> None:
    version = _new_version()
    cache.set_many({VERSION_PREFIX + tag: version for tag in tags}, timeout=None)
    entry = {"at": time.time(), "tags": list(tags), "reason": reason, "request_id": request_id}
    history = cache.get(LOG_KEY) or []
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


def revalidation_log(limit: int = 50) -> list[dict[str, object]]:
    """The most recent revalidations, newest first (bounded to LOG_LIMIT)."""
    return (cache.get(LOG_KEY) or [])[:limit]
