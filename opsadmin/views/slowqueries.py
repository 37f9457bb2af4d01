from django.http import HttpRequest, HttpResponse

from opsadmin.slowqueries import slow_requests_recent, statement_report
from opsadmin.views.common import render_ops

# The permission the Operations role grants for this page (opsadmin.SlowRequest.Meta);
# today every verified staff user may open it, like every ops page.
PERMISSION = "opsadmin.view_slow_queries"


def slow_queries(request: HttpRequest) -> HttpResponse:
    return render_ops(
        request,
        "opsadmin/slow_queries.html",
        {
            "title": "Slow queries",
            "report": statement_report(),
            "slow_requests": slow_requests_recent(),
        },
    )
