from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

pytestmark = [pytest.mark.rls, pytest.mark.django_db]


def test_rls_audit_passes_on_a_migrated_database(capsys):
    call_command("rls_audit")
    out = capsys.readouterr().out
    assert "orders_order" in out
    assert "forced=yes" in out
    assert "7 table(s), 0 with problems" in out


def test_rls_audit_fails_when_a_policy_is_removed(capsys):
    with connection.cursor() as cursor:
        cursor.execute("DROP POLICY rdk_owner ON orders_orderline")
    with pytest.raises(CommandError, match="1 with problems"):
        call_command("rls_audit")
    assert "FAIL orders_orderline" in capsys.readouterr().out


def test_rls_audit_fails_when_row_security_is_not_forced():
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE orders_order NO FORCE ROW LEVEL SECURITY")
    with pytest.raises(CommandError, match="with problems"):
        call_command("rls_audit")


def test_rls_audit_exit_codes_from_the_shell(manage):
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    result = manage("rls_audit", env={"DATABASE_URL": url})
    assert result.returncode == 0, result.stderr
    assert "0 with problems" in result.stdout
    # DATABASE_POOLER goes with the database: the pooled pass of make test sets it.
    result = manage(
        "rls_audit", env={"DATABASE_URL": "sqlite:///:memory:", "DATABASE_POOLER": "none"}
    )
    assert result.returncode != 0
    assert "needs PostgreSQL" in result.stderr
