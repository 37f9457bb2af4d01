"""Staff users with and without a second factor, and clients signed in both ways."""

from __future__ import annotations

import pytest

from tests.staff import Staff, verified_login


@pytest.fixture(autouse=True)
def _fast_hashes(settings):
    """Cheap hashing in tests; production cost is exercised by test_hash_cost_travels."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.BACKUP_CODE_SCRYPT_N = 2**8


@pytest.fixture
def staff(db) -> Staff:
    return Staff()


@pytest.fixture
def ops_client(client, staff):
    verified_login(client, staff)
    client.staff = staff
    return client
