"""The restore check's own integrity check: row counts of the key tables in the
restored copy equal those recorded when the snapshot was taken (RUNBOOK §5.2
step 5). Other apps register theirs in `rdk.integrity`."""

from __future__ import annotations

from rdk.integrity import RestoredDatabase, register_integrity_check


@register_integrity_check("snapshot.row_counts")
def row_counts_match(target: RestoredDatabase) -> list[str]:
    from opsadmin.services.snapshots import row_counts

    found = row_counts(target)
    problems = []
    for table, recorded in target.recorded_row_counts.items():
        restored = found.get(table, "not checked")
        if restored != recorded:
            shown = "not present" if restored is None else restored
            expected = "not present" if recorded is None else recorded
            problems.append(f"{table}: {shown} rows restored, {expected} recorded")
    return problems
