"""audit_dependencies: a scheduled run must alert when nothing was audited,
not only when a vulnerability is found."""

from __future__ import annotations

import json
import subprocess

import pytest
from django.core.management import call_command

from rdk.management.commands import audit_dependencies


def pip_audit_answers(monkeypatch, dependencies):
    def run(command, **kwargs):
        stdout = json.dumps({"dependencies": dependencies})
        return subprocess.CompletedProcess(command, 0, stdout=stdout, stderr="")

    monkeypatch.setattr(audit_dependencies.subprocess, "run", run)


def status_of(capsys) -> tuple[int, str]:
    try:
        call_command("audit_dependencies")
    except SystemExit as exit:
        return int(exit.code or 0), capsys.readouterr().out
    return 0, capsys.readouterr().out


@pytest.mark.parametrize(
    ("dependencies", "status", "says"),
    [
        ([{"name": "a", "version": "1", "vulns": []}], 0, "1 packages audited"),
        ([{"name": "a", "version": "1", "vulns": [{"id": "X-1"}]}], 1, "FAILED"),
        ([{"name": "a", "version": "1", "skip_reason": "not on PyPI"}], 2, "NOT AUDITED"),
    ],
)
def test_exit_status_says_what_happened(monkeypatch, capsys, dependencies, status, says):
    pip_audit_answers(monkeypatch, dependencies)
    code, out = status_of(capsys)
    assert code == status
    assert says in out


def test_no_vulnerability_data_at_all_is_a_failure(monkeypatch, capsys):
    def run(command, **kwargs):
        return subprocess.CompletedProcess(command, 1, stdout="", stderr="ConnectionError")

    monkeypatch.setattr(audit_dependencies.subprocess, "run", run)
    code, out = status_of(capsys)
    assert code == 2
    assert "NOT RUN" in out
