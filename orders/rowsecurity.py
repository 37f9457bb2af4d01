"""The row-security policies on shopper data, as SQL, and their audit.

Scope settings (rdk/rls.py): `rdk.scope` = 'user' | 'service' | '' and
`rdk.user_id`. Every protected table gets RLS enabled *and forced* (the owner
role, which RDK connects as, is bound too) and two permissive policies:

- `rdk_service`: everything, when the transaction asked for the service scope;
- `rdk_owner`: the rows of the shopper the scope names, for every command,
  with the same expression in USING (which rows are seen, updated, deleted)
  and WITH CHECK (which rows may be written): a shopper can neither read nor
  create nor move a row to someone else.

No scope matches neither policy: fail closed. Child tables (lines, events,
reservations, cart items) follow their parent's owner through a subquery that
is itself filtered by the parent's policies.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection as django_connection


@dataclass(frozen=True)
class Protected:
    table: str
    owner_expr: str


OWNER = "p.user_id = rdk_scope_user_id()"


def _via(parent: str, fk: str) -> str:
    # Table and column names are constants of this module, never input.
    return f"EXISTS (SELECT 1 FROM {parent} p WHERE p.id = {fk} AND {OWNER})"  # noqa: S608 (constants, never input)  # nosec B608


PROTECTED: tuple[Protected, ...] = (
    Protected("orders_profile", "user_id = rdk_scope_user_id()"),
    Protected("orders_cart", "user_id = rdk_scope_user_id()"),
    Protected("orders_cartitem", _via("orders_cart", "cart_id")),
    Protected("orders_order", "user_id = rdk_scope_user_id()"),
    Protected("orders_orderline", _via("orders_order", "order_id")),
    Protected("orders_orderevent", _via("orders_order", "order_id")),
    Protected("orders_reservation", _via("orders_order", "order_id")),
)

POLICY_NAMES = ("rdk_owner", "rdk_service")

FUNCTIONS_SQL = """
CREATE OR REPLACE FUNCTION rdk_scope_user_id() RETURNS bigint
LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN current_setting('rdk.scope', true) = 'user'
              THEN nullif(current_setting('rdk.user_id', true), '')::bigint END
$$;
CREATE OR REPLACE FUNCTION rdk_scope_is_service() RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT coalesce(current_setting('rdk.scope', true), '') = 'service'
$$;
"""


def enable_sql(item: Protected) -> str:
    return f"""
ALTER TABLE {item.table} ENABLE ROW LEVEL SECURITY;
ALTER TABLE {item.table} FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS rdk_service ON {item.table};
DROP POLICY IF EXISTS rdk_owner ON {item.table};
CREATE POLICY rdk_service ON {item.table}
  USING (rdk_scope_is_service()) WITH CHECK (rdk_scope_is_service());
CREATE POLICY rdk_owner ON {item.table}
  USING ({item.owner_expr}) WITH CHECK ({item.owner_expr});
"""


def disable_sql(item: Protected) -> str:
    return f"""
DROP POLICY IF EXISTS rdk_service ON {item.table};
DROP POLICY IF EXISTS rdk_owner ON {item.table};
ALTER TABLE {item.table} NO FORCE ROW LEVEL SECURITY;
ALTER TABLE {item.table} DISABLE ROW LEVEL SECURITY;
"""


def install(schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTIONS_SQL)
    for item in PROTECTED:
        schema_editor.execute(enable_sql(item))


def uninstall(schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for item in PROTECTED:
        schema_editor.execute(disable_sql(item))
    schema_editor.execute("DROP FUNCTION IF EXISTS rdk_scope_user_id()")
    schema_editor.execute("DROP FUNCTION IF EXISTS rdk_scope_is_service()")


@dataclass(frozen=True)
class TableAudit:
    table: str
    enabled: bool
    forced: bool
    policies: tuple[str, ...]

    @property
    def problems(self) -> list[str]:
        found = []
        if not self.enabled:
            found.append("row security not enabled")
        if not self.forced:
            found.append("row security not forced")
        missing = [name for name in POLICY_NAMES if name not in self.policies]
        if missing:
            found.append("missing policies: " + ", ".join(missing))
        return found


def rls_audit(*, connection=None) -> list[TableAudit]:
    """The state of every protected table in the connected database: Django's,
    or `connection`, any DB-API connection to PostgreSQL (the snapshot restore
    check passes the restored copy's)."""
    results = []
    with (connection or django_connection).cursor() as cursor:
        for item in PROTECTED:
            cursor.execute(
                "SELECT c.relrowsecurity, c.relforcerowsecurity FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE c.relname = %s AND n.nspname = current_schema()",
                [item.table],
            )
            row = cursor.fetchone() or (False, False)
            cursor.execute(
                "SELECT policyname FROM pg_policies WHERE tablename = %s"
                " AND schemaname = current_schema() ORDER BY policyname",
                [item.table],
            )
            policies = tuple(name for (name,) in cursor.fetchall())
            results.append(TableAudit(item.table, bool(row[0]), bool(row[1]), policies))
    return results
