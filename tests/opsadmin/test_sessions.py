"""Signing people out everywhere, and the record of who is signed in where."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.urls import reverse

from opsadmin.backends import SessionUserBackend
from opsadmin.models import AuditEntry, SessionActivity
from opsadmin.services.sessions import (
    GENERATION_PREFIX,
    USER_PREFIX,
    USER_TTL,
    sessions_rotate,
)
from tests.staff import Staff, make_user, verified_login

# Rotation publishes the new epoch when its transaction commits: real commits here.
pytestmark = pytest.mark.django_db(transaction=True)


def signed_in(user) -> Client:
    client = Client(HTTP_USER_AGENT="Test browser 1.0")
    client.force_login(user)
    return client


def is_signed_in(client: Client) -> bool:
    client.get("/healthz")  # any request: the middleware decides on it
    return "_auth_user_id" in client.session


def test_rotating_one_user_signs_out_every_session_of_that_user_only():
    alice, bob = make_user("alice", staff=False), make_user("bob", staff=False)
    first, second, other = signed_in(alice), signed_in(alice), signed_in(bob)
    assert is_signed_in(first)
    assert is_signed_in(second)
    sessions_rotate(scope="user", user_id=alice.pk, actor="test")
    assert not is_signed_in(first)
    assert not is_signed_in(second)
    assert is_signed_in(other)
    # Signing in again works: the new session carries the new epoch.
    again = signed_in(alice)
    assert is_signed_in(again)


def test_rotating_staff_leaves_shoppers_signed_in():
    shopper, admin_user = make_user("shopper", staff=False), make_user("boss")
    shopper_client, admin_client = signed_in(shopper), signed_in(admin_user)
    sessions_rotate(scope="staff", actor="test")
    assert is_signed_in(shopper_client)
    assert not is_signed_in(admin_client)


def test_rotating_everyone_signs_out_everyone():
    clients = [signed_in(make_user(f"u{i}", staff=bool(i % 2))) for i in range(3)]
    sessions_rotate(scope="all", actor="test")
    assert not any(is_signed_in(client) for client in clients)


def test_rotation_from_the_console_signs_out_a_second_admin_session():
    staff = Staff("ops")
    first, second = Client(), Client()
    verified_login(first, staff)
    verified_login(second, staff)
    other = make_user("carol", staff=False)
    carol = signed_in(other)
    assert second.get(reverse("admin:index")).status_code == 200
    response = first.post(
        reverse("admin:ops_sessions"),
        {"scope": "user", "user_id": other.pk, "confirm": "on", "reason": "lost phone"},
    )
    assert response.status_code == 302
    assert not is_signed_in(carol)
    assert second.get(reverse("admin:index")).status_code == 200  # not rotated
    first.post(
        reverse("admin:ops_sessions"), {"scope": "user", "user_id": staff.user.pk, "confirm": "on"}
    )
    response = second.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    entry = AuditEntry.objects.filter(action="sessions.rotate").first()
    assert entry.actor == "ops"
    assert entry.request_id


def test_rotation_needs_confirmation_and_a_real_user(ops_client):
    response = ops_client.post(reverse("admin:ops_sessions"), {"scope": "all"})
    assert response.status_code == 400
    response = ops_client.post(
        reverse("admin:ops_sessions"), {"scope": "user", "user_id": 99999, "confirm": "on"}
    )
    assert response.status_code == 400
    assert ops_client.get(reverse("admin:ops_sessions")).status_code == 200


def test_sessions_are_recorded_with_ip_agent_and_listed(ops_client, django_assert_max_num_queries):
    for i in range(5):
        signed_in(make_user(f"shopper{i}", staff=False)).get("/healthz")
    activity = SessionActivity.objects.filter(user__username="shopper0").get()
    assert activity.ip == "127.0.0.1"
    assert activity.user_agent == "Test browser 1.0"
    # Constant, not one per user; includes the row-security transaction set-up.
    with django_assert_max_num_queries(20):
        response = ops_client.get(reverse("admin:ops_sessions"))
    assert response.status_code == 200
    assert b"shopper4" in response.content
    assert b"Test browser 1.0" in response.content


def test_activity_is_written_at_most_once_a_minute(django_assert_max_num_queries):
    client = signed_in(make_user("dora", staff=False))
    client.get("/healthz")
    with django_assert_max_num_queries(
        4
    ):  # session + user + epoch rows (cached), no activity write
        client.get("/healthz")
    assert SessionActivity.objects.count() == 1


def test_sessions_rotate_command():
    make_user("eve", staff=False)
    eve = signed_in(make_user("frank", staff=False))
    call_command("sessions_rotate", "--user", "frank")
    assert not is_signed_in(eve)
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("sessions_rotate", "--user", "nobody")


def test_a_password_reset_ends_the_users_sessions_on_the_sessions_page(ops_client):
    shopper = make_user("resetme", staff=False)
    other = make_user("keepme", staff=False)
    browser = signed_in(shopper)
    browser.get("/healthz")
    signed_in(other).get("/healthz")
    shopper.last_login = None
    shopper.save(update_fields=["last_login"])  # not a password change
    assert SessionActivity.objects.filter(ended_at=None).count() == 2
    # What the reset page's SetPasswordForm does.
    shopper.set_password("a-brand-new-Password-9")
    shopper.save()
    assert not is_signed_in(browser)
    ended = SessionActivity.objects.get(user=shopper)
    assert ended.ended_reason == "password changed"
    page = ops_client.get(reverse("admin:ops_sessions")).content.decode()
    assert "keepme" in page
    assert "resetme" not in page


# A session's user is read from the cache with the sign-out epochs.


def test_a_signed_in_request_asks_postgresql_nothing_for_its_user(django_assert_num_queries):
    client = signed_in(make_user("shopper", staff=False))
    client.get("/healthz")  # reads the row from PostgreSQL and caches it; records activity
    with django_assert_num_queries(0):
        assert is_signed_in(client)


def test_deactivating_a_shopper_signs_them_out_at_once():
    shopper = make_user("shopper", staff=False)
    client = signed_in(shopper)
    assert client.get("/account/").status_code == 200  # the row is cached now
    shopper.is_active = False
    shopper.save()
    assert client.get("/account/").status_code == 302  # to the sign-in page


def test_a_new_password_signs_out_the_other_sessions_at_once():
    shopper = make_user("shopper", staff=False)
    client = signed_in(shopper)
    assert client.get("/account/").status_code == 200
    shopper.set_password("another long passphrase 42")
    shopper.save()
    assert client.get("/account/").status_code == 302


def test_a_row_cached_before_a_change_committed_is_never_used_after_it():
    """Another request reads the generation after the change's first bump and
    the row before the change commits, then caches that old row: the bump made
    when the change commits outdates it."""
    staff = make_user("boss")
    backend = SessionUserBackend()
    assert backend.get_user(staff.pk).is_staff
    row_key = f"{USER_PREFIX}{staff.pk}"
    _, old_row = cache.get(row_key)
    with transaction.atomic():
        staff.is_staff = False
        staff.save()
        generation = cache.get(f"{GENERATION_PREFIX}{staff.pk}")
        cache.set(row_key, (generation, old_row), USER_TTL)  # the other request's write
    assert backend.get_user(staff.pk).is_staff is False


def test_a_deleted_user_is_gone_at_once():
    shopper = make_user("shopper", staff=False)
    backend = SessionUserBackend()
    assert backend.get_user(shopper.pk) is not None
    shopper.delete()
    assert backend.get_user(shopper.pk) is None


# The session engine reads the session's user in the same round trip (opsadmin/sessions.py).


def _load_and_get_user(session_key: str):
    from django.contrib.auth import SESSION_KEY

    from opsadmin.sessions import SessionStore

    store = SessionStore(session_key)
    user_id = store[SESSION_KEY]  # loads the session
    return SessionUserBackend().get_user(int(user_id))


def test_a_known_session_and_its_user_are_read_in_one_round_trip(redis_round_trips):
    from django.core.cache import caches

    from rdk.cache import RedisCache

    if not isinstance(caches["default"], RedisCache):  # make test runs on Redis; CI requires it
        pytest.skip("counts Redis round trips: needs the Redis cache")
    shopper = make_user("shopper", staff=False)
    client = signed_in(shopper)
    key = client.session.session_key
    assert _load_and_get_user(key) == shopper  # this process learns whose session it is
    before = redis_round_trips.count
    assert _load_and_get_user(key) == shopper
    assert redis_round_trips.count - before == 1
    assert is_signed_in(client)


def test_a_read_is_never_used_for_another_request(monkeypatch):
    """Every session load resets what the last one read: a request that loaded
    a session but never asked for its user leaves nothing for the next."""
    from django.contrib.auth import SESSION_KEY

    from opsadmin.sessions import SessionStore, prefetched_take

    shopper = make_user("shopper", staff=False)
    first, second = signed_in(shopper), signed_in(shopper)
    _load_and_get_user(first.session.session_key)
    _load_and_get_user(second.session.session_key)
    SessionStore(first.session.session_key)[SESSION_KEY]  # loaded, user never asked for
    SessionStore(SessionStore().session_key or "")  # a request with no session: no load
    anonymous = SessionStore()
    anonymous.save()
    assert SessionStore(anonymous.session_key).get(SESSION_KEY) is None  # a load
    assert prefetched_take(str(shopper.pk)) is None


def test_a_session_naming_another_user_than_remembered_is_read_afresh():
    from opsadmin.sessions import users_of_sessions

    shopper, other = make_user("shopper", staff=False), make_user("other", staff=False)
    client = signed_in(shopper)
    key = client.session.session_key
    users_of_sessions.set(key, str(other.pk))  # a stale hint
    assert _load_and_get_user(key) == shopper
    assert users_of_sessions.get(key) == str(shopper.pk)


def test_a_rotation_between_two_requests_signs_out_a_remembered_session():
    shopper = make_user("shopper", staff=False)
    client = signed_in(shopper)
    assert is_signed_in(client)
    assert is_signed_in(client)  # the second read the session and user together
    sessions_rotate(scope="all", actor="test")
    assert not is_signed_in(client)
