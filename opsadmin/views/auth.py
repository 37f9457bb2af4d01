"""Admin sign-in (password + code) and first-time authenticator enrolment.

Enrolment starts only from a one-time link an Owner issued (or
`manage.py otp_enroll --link`): the link plus the account's password open a
brand-new session (the one from before is flushed, so nothing planted in it
survives) that may show the new authenticator's secret for a few minutes."""

from __future__ import annotations

import time
from base64 import b32encode

import segno
from django.contrib.auth import authenticate
from django.contrib.auth import login as auth_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from opsadmin.exceptions import EnrolmentError
from opsadmin.forms import AdminLoginForm, EnrolConfirmForm, EnrolLinkForm
from opsadmin.services.otp import (
    SIGN_IN_REFUSED,
    enrolment_confirm,
    enrolment_link_find,
    enrolment_start,
    sign_in_attempt,
    totp_device_for,
)
from rdk.audit import audit_record
from rdk.clientip import client_ip_for_records
from rdk.ratelimits import rate_limit

ENROL_KEY = "opsadmin_enrol"
ENROL_WINDOW = 15 * 60  # seconds between the password and confirming the app


def _next_url(request: HttpRequest, site) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("admin:index", current_app=site.name)


@never_cache
@csrf_protect
@rate_limit("signin_ip", "signin_account", "otp_verify", audit="admin.signin")
def admin_login(request: HttpRequest, *, site) -> HttpResponse:
    if request.method == "GET" and site.has_permission(request):
        return redirect(_next_url(request, site))
    form = AdminLoginForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        result = sign_in_attempt(
            request=request,
            login=form.cleaned_data["login"],
            password=form.cleaned_data["password"],
            code=form.cleaned_data["code"],
        )
        if result.outcome == "success":
            # django-otp stores it in the session on login; success always carries the user.
            result.user.otp_device = result.device  # type: ignore[union-attr]
            auth_login(request, result.user)
            return redirect(_next_url(request, site))
        error = result.message
    context = {
        **site.each_context(request),
        "title": "Sign in",
        "form": form,
        "error": error,
        "next": request.POST.get("next") or request.GET.get("next", ""),
        "site_header": site.site_header,
    }
    # Like Django's own admin login, a refused attempt re-renders the form with 200.
    return TemplateResponse(request, "opsadmin/login.html", context)


def _enrolling(request: HttpRequest):
    """(user, link) for a session opened by an enrolment link, or (None, None)."""
    pending = request.session.get(ENROL_KEY) or {}
    if not pending or time.time() - pending.get("at", 0) > ENROL_WINDOW:
        return None, None
    link = enrolment_link_find(pk=pending.get("link"))
    if link is None or link.user_id != pending.get("user"):
        return None, None
    if totp_device_for(link.user) is not None:
        return None, None
    return link.user, link


@never_cache
@csrf_protect
@rate_limit("signin_ip", "signin_account", "otp_verify", audit="otp.enrol")
def enrol_link(request: HttpRequest, token: str, *, site) -> HttpResponse:
    """Open an enrolment link: the account's password, then a fresh session."""
    link = enrolment_link_find(token=token)
    context = {
        **site.each_context(request),
        "title": "Set up your authenticator",
        "site_header": site.site_header,
    }
    if link is None:
        context["invalid"] = True
        return TemplateResponse(request, "opsadmin/enrol_link.html", context, status=400)
    form = EnrolLinkForm(request.POST or None, user=link.user)
    if request.method == "POST" and form.is_valid():
        user = authenticate(
            request, username=link.user.get_username(), password=form.cleaned_data["password"]
        )
        if user is not None and user.pk == link.user_id:
            # A new session: whatever the browser carried before is gone.
            request.session.flush()
            request.session[ENROL_KEY] = {"user": user.pk, "link": link.pk, "at": time.time()}
            return redirect(reverse("admin:otp_enrol", current_app=site.name))
        audit_record(
            action="otp.enrol",
            actor=link.user.get_username(),
            target="admin",
            outcome="wrong_password",
            ip=client_ip_for_records(request) or "",
        )
        context["error"] = SIGN_IN_REFUSED
    context.update(form=form, enrol_user=link.user)
    return TemplateResponse(
        request, "opsadmin/enrol_link.html", context, status=400 if context.get("error") else 200
    )


@never_cache
@csrf_protect
@rate_limit("otp_verify", audit="otp.enrol")
def enrol(request: HttpRequest, *, site) -> HttpResponse:
    user, link = _enrolling(request)
    if user is None:
        request.session.pop(ENROL_KEY, None)
        return redirect(reverse("admin:login", current_app=site.name))
    form = EnrolConfirmForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            device, codes = enrolment_confirm(
                user=user,
                code=form.cleaned_data["code"],
                actor=user.get_username(),
                link=link,
                ip=client_ip_for_records(request) or "",
            )
        except EnrolmentError as exc:
            error = str(exc)
        else:
            request.session.pop(ENROL_KEY, None)
            user.otp_device = device
            auth_login(request, user)
            context = {
                **site.each_context(request),
                "title": "Your backup codes",
                "codes": codes,
            }
            return TemplateResponse(request, "opsadmin/backup_codes.html", context)
    device = enrolment_start(user=user)
    qr = segno.make(device.config_url, error="m")
    context = {
        **site.each_context(request),
        "title": "Set up your authenticator",
        "enrol_user": user,
        "qr_svg": qr.svg_inline(scale=5, dark="#14151a", border=2),
        "otpauth_uri": device.config_url,
        "secret": b32encode(device.bin_key).decode(),
        "form": form,
        "error": error,
    }
    return TemplateResponse(request, "opsadmin/enrol.html", context, status=400 if error else 200)
