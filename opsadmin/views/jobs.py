import logging

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from opsadmin.jobshealth import jobs_health
from rdk.rls import rls_request_exempt

logger = logging.getLogger(__name__)


@rls_request_exempt  # no shopper: the counts ask for the service scope themselves
@require_safe
@never_cache
def jobs_health_view(request: HttpRequest) -> JsonResponse:
    """200 when the background work keeps up, 503 with the problems when not.
    No sign-in and no rate limit: monitors poll it (RUNBOOK §13)."""
    report = jobs_health()
    if not report.ok:
        logger.warning("jobs_health.failing", extra={"problems": report.problems})
    return JsonResponse(report.as_json(), status=200 if report.ok else 503)
