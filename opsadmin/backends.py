"""The authentication backend: Django's ModelBackend (passwords, `is_active`,
permissions), except that a session's user is loaded with its sign-out epochs
in one cache round trip (`opsadmin.services.sessions.session_user_get`), which
`SessionEpochMiddleware` then checks without another."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

from opsadmin.services.sessions import session_user_get


class SessionUserBackend(ModelBackend):
    def get_user(self, user_id):
        user = session_user_get(user_id=user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
