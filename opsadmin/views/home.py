from django.conf import settings
from django.http import HttpRequest, HttpResponse

from opsadmin.checklist import checklist
from opsadmin.models import AuditEntry
from opsadmin.selectors import funnel_summary
from opsadmin.views.common import render_ops


def ops_home(request: HttpRequest) -> HttpResponse:
    return render_ops(
        request,
        "opsadmin/home.html",
        {
            "title": "Ops console",
            "items": checklist(),
            "recent_audit": AuditEntry.objects.all()[:10],
            "funnel": funnel_summary(),
            "release": settings.RDK_RELEASE,
        },
    )
