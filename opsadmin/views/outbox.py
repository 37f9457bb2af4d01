"""The Outbox (local and staging only): every email RDK sent or queued, as
the shopper reads it. Production has no such page: bodies there are not kept
after sending (they can hold one-time links)."""

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.csp import CSP
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_safe

from opsadmin.views.common import render_ops
from rdk.emails import email_preview
from rdk.models import OutboundEmail


def _email(public_id) -> OutboundEmail:
    if not settings.EMAIL_OUTBOX_PAGE:
        raise Http404("The outbox exists in local and staging only.")
    return get_object_or_404(OutboundEmail, public_id=public_id)


@require_safe
def outbox_list(request: HttpRequest) -> HttpResponse:
    if not settings.EMAIL_OUTBOX_PAGE:
        raise Http404("The outbox exists in local and staging only.")
    return render_ops(
        request,
        "opsadmin/outbox.html",
        {"title": "Outbox", "emails": OutboundEmail.objects.all()[:200]},
    )


@require_safe
def outbox_detail(request: HttpRequest, public_id) -> HttpResponse:
    email = _email(public_id)
    body_text, _ = email_preview(email)  # a queued email is rendered on demand
    return render_ops(
        request,
        "opsadmin/outbox_detail.html",
        {"title": email.subject, "email": email, "body_text": body_text},
    )


# The email's own HTML, framed by the detail page: inline styles are how email
# is written, so this response alone allows them; no script runs in it.
@require_safe
@xframe_options_sameorigin
@csp_override(
    {
        "default-src": [CSP.NONE],
        "style-src": [CSP.UNSAFE_INLINE],
        "img-src": [CSP.SELF, "data:", "https:"],
        "frame-ancestors": [CSP.SELF],
        "sandbox": True,  # type: ignore[dict-item]  # Django's CSP takes True for a bare directive
    }
)
def outbox_html(request: HttpRequest, public_id) -> HttpResponse:
    _, body_html = email_preview(_email(public_id))
    return HttpResponse(body_html)
