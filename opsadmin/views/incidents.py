from typing import cast

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from opsadmin import selectors
from opsadmin.exceptions import IncidentError
from opsadmin.forms import IncidentForm, IncidentPostmortemForm, IncidentUpdateForm
from opsadmin.models import IncidentStatus
from opsadmin.services import incidents as service
from opsadmin.views.common import actor, render_ops


def incident_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "open")
    incidents = list(selectors.incident_list(status=status)[:100])
    now = timezone.now()
    rows = [(incident, selectors.incident_clocks(incident, now=now)) for incident in incidents]
    return render_ops(
        request,
        "opsadmin/incidents.html",
        {
            "title": "Incidents",
            "rows": rows,
            "status": status,
            "statuses": [("open", "Open"), *IncidentStatus.choices, ("all", "All")],
        },
    )


@require_http_methods(["GET", "POST"])
def incident_new(request: HttpRequest) -> HttpResponse:
    form = IncidentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            incident = service.incident_create(actor=actor(request), **form.cleaned_data)
        except IncidentError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request, f"Incident #{incident.pk} opened. Post the start message now."
            )
            return redirect(incident.get_absolute_url())
    return render_ops(
        request,
        "opsadmin/incident_new.html",
        {"title": "Open an incident", "form": form},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def incident_detail(request: HttpRequest, public_id) -> HttpResponse:
    incident = selectors.incident_get(key=str(public_id))
    if incident is None:
        raise Http404("No such incident.")
    update_form = IncidentUpdateForm(initial={"status": incident.status})
    postmortem_form = IncidentPostmortemForm(
        initial={
            "root_cause": incident.root_cause,
            "fix": incident.fix,
            "follow_ups": incident.follow_ups,
            "request_ids": " ".join(incident.request_ids),
            "stripe_event_ids": " ".join(incident.stripe_event_ids),
        }
    )
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "update":
                update_form = IncidentUpdateForm(request.POST)
                if update_form.is_valid():
                    service.incident_update(
                        incident=incident, actor=actor(request), **update_form.cleaned_data
                    )
                    messages.success(request, "Update posted.")
                    return redirect(incident.get_absolute_url())
            elif action == "postmortem":
                postmortem_form = IncidentPostmortemForm(request.POST)
                if postmortem_form.is_valid():
                    service.incident_postmortem_set(
                        incident=incident, actor=actor(request), **postmortem_form.cleaned_data
                    )
                    messages.success(request, "Root cause, fix and follow-ups saved.")
                    return redirect(incident.get_absolute_url())
            elif action == "export":
                name, markdown = service.incident_download(incident=incident, actor=actor(request))
                response = HttpResponse(markdown, content_type="text/markdown; charset=utf-8")
                response["Content-Disposition"] = f'attachment; filename="{name}"'
                return response
            else:
                messages.error(request, "Unknown action.")
        except IncidentError as exc:
            messages.error(request, str(exc))
        status = 400
    allowed = service.TRANSITIONS[incident.status]
    cast(forms.ChoiceField, update_form.fields["status"]).choices = [
        (value, label)
        for value, label in IncidentStatus.choices
        if value == incident.status or value in allowed
    ]
    return render_ops(
        request,
        "opsadmin/incident_detail.html",
        {
            "title": f"Incident #{incident.pk}",
            "incident": incident,
            "clocks": selectors.incident_clocks(incident),
            "updates": incident.updates.all(),
            "start_message": selectors.incident_start_message(incident),
            "resolution_message": selectors.incident_resolution_message(incident),
            "update_form": update_form,
            "postmortem_form": postmortem_form,
        },
        status=status,
    )
