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
from collections.abc import Callable, Iterable, Mapping
from typing import TypedDict

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


class _LocalVersions:
    """The tag versions this process read in the last `LOCAL_TTL` seconds.

    A page served from the cache needs the versions of its tags, and asking
    Redis for them was the one round trip (and half the time) of an anonymous
    hit. A revalidation is seen at once by the process that makes it (`_bump`
    forgets its tags) and within `LOCAL_TTL` by every other, as switches are
    (rdk.switches): the page's `s-maxage` already lets shared caches keep it
    far longer."""

    def __init__(self) -> None:
        self.read: dict[str, tuple[float, int]] = {}

    def get(self, tag: str, now: float) -> int | None:
        found = self.read.get(tag)
        if found is None or now - found[0] > LOCAL_TTL:
            return None
        return found[1]

    def remember(self, versions: dict[str, int], now: float) -> None:
        if len(self.read) > LOCAL_LIMIT:
            self.read.clear()
        for tag, version in versions.items():
            self.read[tag] = (now, version)

    def forget(self, tags: Iterable[str] = ()) -> None:
        """Forget `tags` (every tag when none is named)."""
        if not tags:
            self.read.clear()
        for tag in tags:
            self.read.pop(tag, None)


LOCAL_TTL = 0.2
LOCAL_LIMIT = 10_000
local_versions = _LocalVersions()


def tag_versions(tags: Iterable[str]) -> dict[str, int]:
    """Current version of each tag: from this process's copy when it is fresh
    (`_LocalVersions`), else one cache round trip for all of them."""
    tags = list(dict.fromkeys(tags))
    now = time.monotonic()
    versions = {}
    for tag in tags:
        version = local_versions.get(tag, now)
        if version is None:
            break
        versions[tag] = version
    else:
        return versions
    versions, reliable = _shared_versions(tags)
    if reliable:
        local_versions.remember(versions, now)
    return versions


def _shared_versions(tags: list[str]) -> tuple[dict[str, int], bool]:
    """The versions in the shared cache, and whether it answered for all of them."""
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
        unreachable = [key for key in missing if key not in found]
        for key in unreachable:
            found[key] = initial
        if unreachable:  # not kept locally: the next read asks the cache again
            return {tag: int(found[VERSION_PREFIX + tag]) for tag in tags}, False
    return {tag: int(found[VERSION_PREFIX + tag]) for tag in tags}, True


def tagged_key(
    name: str, tags: Iterable[str], *parts: object, versions: Mapping[str, int] | None = None
) -> str:
    """A cache key for `name` that changes whenever any of `tags` is revalidated.

    `versions`: the tags' versions when already read (`tag_versions` of these
    tags and others, for many keys at once)."""
    tags = list(dict.fromkeys(tags))
    if versions is None:
        versions = tag_versions(tags)
    stamp = ",".join(f"{tag}={versions[tag]}" for tag in sorted(tags))
    raw = "|".join([name, stamp, *map(str, parts)])
    return "frag:" + hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()


class Revalidation(TypedDict):
    """One entry of the revalidation log (the ops console's Cache page)."""

    at: float  # a Unix time
    tags: list[str]
    reason: str
    request_id: str | None


def _bump(tags: tuple[str, ...], reason: str, request_id: str | None) -> None:
    local_versions.forget(tags)
    version = _new_version()
    cache.set_many({VERSION_PREFIX + tag: version for tag in tags}, timeout=None)
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
