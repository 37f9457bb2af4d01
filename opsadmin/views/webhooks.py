"""The webhooks pages (RUNBOOK §6 from the console): the stored Stripe events,
one event in full, replay one, replay every failed one. Reads and replays go
through payments' selectors and services; each replay is recorded and audited
there."""

import json
from datetime import UTC, datetime, time, timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from opsadmin.forms import ReplayFailedForm, WebhookFilterForm
from opsadmin.permissions import STRIPE_PAYLOAD
from opsadmin.selectors import webhook_event_order, webhook_events_search
from opsadmin.views.common import actor, render_ops
from payments import selectors, services
from payments.exceptions import EventNotFound, EventNotHandleable
from payments.models import StripeEvent, StripeEventReplay

PAGE_SIZE = 50


def _day_start(day) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _backlog_context() -> dict:
    backlog = selectors.event_backlog()
    return {
        "backlog": backlog,
        "status_cards": [
            (value, label, backlog.counts.get(value, 0))
            for value, label in StripeEvent.Status.choices
        ],
        "now": timezone.now(),
    }


def webhook_list(request: HttpRequest) -> HttpResponse:
    form = WebhookFilterForm(
        request.GET or None, statuses=StripeEvent.Status.choices, types=selectors.event_types()
    )
    status = 200
    events = StripeEvent.objects.none()
    if not request.GET:
        events = selectors.event_list()
    elif form.is_valid():
        data = form.cleaned_data
        events = selectors.event_list(
            status=data["status"] or None,
            type=data["type"] or None,
            since=_day_start(data["since"]) if data["since"] else None,
            until=_day_start(data["until"] + timedelta(days=1)) if data["until"] else None,
        )
        if data["q"]:
            events = webhook_events_search(events, query=data["q"])
    else:
        status = 400
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render_ops(
        request,
        "opsadmin/webhooks.html",
        {
            "title": "Stripe webhooks",
            "form": form,
            "page": page,
            "query": query.urlencode(),
            **_backlog_context(),
        },
        status=status,
    )


def _event_or_404(stripe_id: str) -> StripeEvent:
    try:
        return selectors.event_get(stripe_id=stripe_id)
    except EventNotFound as exc:
        raise Http404(str(exc)) from None


def webhook_detail(request: HttpRequest, stripe_id: str) -> HttpResponse:
    event = _event_or_404(stripe_id)
    reference = selectors.event_reference(event=event)
    return render_ops(
        request,
        "opsadmin/webhook_detail.html",
        {
            "title": event.stripe_id,
            "event": event,
            "replays": event.replays.all(),
            # Shoppers' personal data: only for those allowed to read it.
            "payload": (
                json.dumps(event.payload, indent=2, sort_keys=True)
                if request.user.has_perm(STRIPE_PAYLOAD)
                else None
            ),
            "payload_permission": STRIPE_PAYLOAD,
            "reference": reference,
            "can_replay": event.status != StripeEvent.Status.PROCESSED,
            "order": webhook_event_order(reference=reference),
            "can_mark_handled": event.status == StripeEvent.Status.FAILED,
        },
    )


@require_POST
def webhook_mark_handled(request: HttpRequest, stripe_id: str) -> HttpResponse:
    try:
        services.event_mark_handled(
            stripe_id=stripe_id, reason=request.POST.get("reason", ""), actor=actor(request)
        )
    except EventNotFound as exc:
        raise Http404(str(exc)) from None
    except EventNotHandleable as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{stripe_id} marked handled; it no longer counts as failed.")
    return redirect("admin:ops_webhook_detail", stripe_id=stripe_id)


@require_POST
def webhook_replay(request: HttpRequest, stripe_id: str) -> HttpResponse:
    event = _event_or_404(stripe_id)
    replay = services.event_replay(event=event, actor=actor(request))
    _report(request, replay)
    return redirect("admin:ops_webhook_detail", stripe_id=event.stripe_id)


def _report(request: HttpRequest, replay: StripeEventReplay) -> None:
    Outcome = StripeEventReplay.Outcome
    name = replay.event.stripe_id
    if replay.outcome == Outcome.PROCESSED:
        messages.success(request, f"Replayed {name}: processed.")
    elif replay.outcome == Outcome.FAILED:
        messages.error(request, f"Replayed {name}: failed again: {replay.error}")
    elif replay.outcome == Outcome.IGNORED:
        messages.warning(request, f"Replayed {name}: no handler for {replay.event.type}, ignored.")
    else:
        messages.info(request, f"Nothing done: {name} was already processed.")


@require_http_methods(["GET", "POST"])
def webhook_replay_failed(request: HttpRequest) -> HttpResponse:
    form = ReplayFailedForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        replays = services.events_replay_failed(actor=actor(request))
        failed = [r for r in replays if r.outcome == StripeEventReplay.Outcome.FAILED]
        if not replays:
            messages.info(request, "There was no failed event to replay.")
        elif failed:
            messages.error(
                request,
                f"Replayed {len(replays)} event(s): {len(replays) - len(failed)} processed, "
                f"{len(failed)} failed again ({', '.join(r.event.stripe_id for r in failed[:5])}"
                f"{' …' if len(failed) > 5 else ''}). Open each for its error.",
            )
        else:
            messages.success(request, f"Replayed {len(replays)} event(s): all processed.")
        return redirect(reverse("admin:ops_webhooks") + ("?status=failed" if failed else ""))
    failed_events = selectors.event_list(status=StripeEvent.Status.FAILED)
    return render_ops(
        request,
        "opsadmin/webhook_replay_failed.html",
        {
            "title": "Replay every failed event",
            "form": form,
            "failed_events": failed_events[:200],
            "failed_count": failed_events.count(),
        },
        status=400 if form.errors else 200,
    )
