"""`update_returning`: an UPDATE that says which rows it changed, in one statement."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rdk.updates import update_returning

pytestmark = pytest.mark.django_db


def test_returns_each_updated_row_once_in_one_statement():
    first = Group.objects.create(name="waiting 1")
    Group.objects.create(name="other")
    with CaptureQueriesContext(connection) as queries:
        rows = update_returning(
            Group.objects.filter(name__startswith="waiting"), returning=("id", "name"), name="done"
        )
    assert rows == [(first.pk, "done")]
    assert len(queries) == 1
    assert "RETURNING" in queries[0]["sql"]
    # The condition no longer holds: a second caller moves nothing.
    assert (
        update_returning(
            Group.objects.filter(name__startswith="waiting"), returning=("id",), name="x"
        )
        == []
    )


def test_a_foreign_key_returns_its_id():
    permission = Permission.objects.first()
    rows = update_returning(
        Permission.objects.filter(pk=permission.pk),
        returning=("content_type",),
        name=permission.name,
    )
    assert rows == [(permission.content_type_id,)]
