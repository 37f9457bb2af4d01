"""Audit the installed packages for known vulnerabilities with pip-audit.

pip-audit needs vulnerability data from the network (PyPI's JSON API or OSV).
When that data cannot be had, pip-audit itself reports "No known
vulnerabilities found" while having audited nothing; this wrapper says so
plainly instead. Exit status: 0 for a clean audit, 1 when a vulnerability is
found, 2 when nothing could be audited (no data, no answer): a scheduled run
must alert then too, not pass silently. See docs/security.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from django.core.management.base import BaseCommand

TIMEOUT_SECONDS = 180
NOT_AUDITED = 2  # the exit status when no package could be checked


def _audit() -> int:
    command = [sys.executable, "-m", "pip_audit", "--local", "-f", "json"]
    command += ["--progress-spinner", "off"]
    try:
        result = subprocess.run(  # noqa: S603 (a fixed command)
            command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False
        )
    except subprocess.TimeoutExpired:
        print(f"pip-audit: NOT RUN: no answer within {TIMEOUT_SECONDS}s (network?).")
        return NOT_AUDITED
    try:
        dependencies = json.loads(result.stdout)["dependencies"]
    except (ValueError, KeyError):
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        print(f"pip-audit: NOT RUN: vulnerability data unreachable ({last[:200]}).")
        return NOT_AUDITED

    vulnerable = [dep for dep in dependencies if dep.get("vulns")]
    skipped = [dep for dep in dependencies if dep.get("skip_reason")]
    audited = len(dependencies) - len(skipped)
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions") or []) or "no fix yet"
            print(f"pip-audit: {dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixes})")
    if vulnerable:
        print(f"pip-audit: FAILED: {len(vulnerable)} vulnerable package(s).")
        return 1
    if skipped and not audited:
        print(
            f"pip-audit: NOT AUDITED: none of {len(dependencies)} packages could be checked "
            f"({skipped[0]['skip_reason']}): no vulnerability data is available from "
            "here. Run `make audit` where PyPI's JSON API or OSV answers."
        )
        return NOT_AUDITED
    note = f"; {len(skipped)} could not be checked" if skipped else ""
    print(f"pip-audit: {audited} packages audited, no known vulnerabilities{note}.")
    return 0


class Command(BaseCommand):
    help = (
        "Audit installed packages with pip-audit; exit 1 on a known vulnerability, "
        "2 when nothing could be audited (no vulnerability data reachable)."
    )
    requires_system_checks = []

    def handle(self, *args: Any, **options: Any) -> None:
        status = _audit()
        if status:
            raise SystemExit(status)
