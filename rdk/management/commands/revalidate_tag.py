import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rdk.audit import audit_record
from rdk.cache import per_process_cache_warning
from rdk.cachetags import revalidate_tag, tag_kinds, tag_versions, tags_unknown

TAG = re.compile(r"[a-z][a-z0-9_-]*(:[A-Za-z0-9_-]+)?")


class Command(BaseCommand):
    help = (
        "Revalidate cache tags (catalog, brand:<id>, product:<id>): everything cached "
        "under them is rendered afresh on its next request, in every process."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("tags", nargs="+", metavar="TAG")
        parser.add_argument("--reason", default="manual revalidation (manage.py revalidate_tag)")
        parser.add_argument("--actor", default="manage.py")

    def handle(self, *args: Any, tags: list[str], reason: str, actor: str, **options: Any) -> None:
        bad = [tag for tag in tags if not TAG.fullmatch(tag)]
        if bad:
            raise CommandError(
                f"Not a cache tag: {', '.join(bad)}. Tags look like catalog, brand:3 or product:42."
            )
        unknown = tags_unknown(tags)
        if unknown:
            raise CommandError(
                f"Unknown cache tag: {', '.join(unknown)} (nothing revalidated). "
                f"Known: {', '.join(tag_kinds())}, where <id> names an existing row."
            )
        before = tag_versions(tags)
        revalidate_tag(*tags, reason=reason)
        after = tag_versions(tags)
        audit_record(action="cache.revalidate", actor=actor, target=" ".join(tags), reason=reason)
        for tag in tags:
            self.stdout.write(f"  {tag}: version {before[tag]} → {after[tag]}")
        self.stdout.write(self.style.SUCCESS(f"Revalidated {len(tags)} tag(s): {reason}."))
        if warning := per_process_cache_warning("the tags were revalidated"):
            self.stderr.write(self.style.WARNING(warning))
