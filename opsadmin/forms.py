from __future__ import annotations

import re
from typing import cast

from django import forms

from opsadmin.models import IncidentStatus, Severity, TriggerSource
from rdk.switches import SWITCHES


class AdminLoginForm(forms.Form):
    login = forms.CharField(label="Username or email", max_length=254)
    password = forms.CharField(label="Password", strip=False, widget=forms.PasswordInput)
    code = forms.CharField(
        label="Code",
        required=False,
        max_length=20,
        help_text="6 digits from your authenticator app, or one of your backup codes. "
        "No authenticator yet? Ask an Owner for an enrolment link.",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "spellcheck": "false"}
        ),
    )


class EnrolLinkForm(forms.Form):
    """The account's password, to open an enrolment link. `login` is shown,
    not chosen: it is what the sign-in limits count the attempt against."""

    login = forms.CharField(widget=forms.HiddenInput)
    password = forms.CharField(label="Your password", strip=False, widget=forms.PasswordInput)

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["login"].initial = user.get_username()

    def clean_login(self) -> str:
        if self.cleaned_data["login"] != self.user.get_username():
            raise forms.ValidationError("This link is for another account.")
        return self.cleaned_data["login"]


class EnrolConfirmForm(forms.Form):
    code = forms.CharField(
        label="Code shown by the app",
        min_length=6,
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class SwitchForm(forms.Form):
    name = forms.ChoiceField(choices=[(name, name) for name in SWITCHES])
    on = forms.TypedChoiceField(choices=[("1", "on"), ("0", "off")], coerce=lambda v: v == "1")
    reason = forms.CharField(
        max_length=500, help_text="Why: an incident number, a ticket, a sentence."
    )
    confirm = forms.BooleanField(
        label="I understand this takes effect for every visitor within a second."
    )


class SessionRotateForm(forms.Form):
    scope = forms.ChoiceField(
        choices=[("user", "One user"), ("staff", "All staff"), ("all", "Everyone")]
    )
    user_id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    reason = forms.CharField(max_length=300, required=False)
    confirm = forms.BooleanField(label="Yes, sign them out on their next request.")


def _split_ids(value: str) -> list[str]:
    items = [item for item in re.split(r"[\s,]+", value or "") if item]
    bad = [item for item in items if not re.fullmatch(r"[A-Za-z0-9._-]{1,128}", item)]
    if bad:
        raise forms.ValidationError(f"Not an id: {bad[0][:40]!r}. Use letters, digits, . _ -")
    return list(dict.fromkeys(items))


class IdListField(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 2})

    def clean(self, value):
        return _split_ids(super().clean(value))


class IncidentForm(forms.Form):
    title = forms.CharField(max_length=200)
    severity = forms.ChoiceField(choices=Severity.choices)
    impact = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    trigger_source = forms.ChoiceField(choices=TriggerSource.choices)
    started_at = forms.DateTimeField(
        required=False,
        help_text="UTC, YYYY-MM-DD HH:MM. Empty: now.",
    )
    request_ids = IdListField(
        required=False, help_text="X-Request-ID values, space or comma separated."
    )
    stripe_event_ids = IdListField(required=False, help_text="evt_… ids, space or comma separated.")


class IncidentUpdateForm(forms.Form):
    status = forms.ChoiceField(choices=IncidentStatus.choices)
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)


class IncidentPostmortemForm(forms.Form):
    root_cause = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    fix = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    follow_ups = forms.CharField(
        label="Follow-ups", widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    request_ids = IdListField(required=False)
    stripe_event_ids = IdListField(required=False)


class RevalidateForm(forms.Form):
    tags = forms.CharField(
        max_length=1000,
        help_text="catalog, brand:<id> or product:<id>; several separated by spaces or commas.",
    )
    reason = forms.CharField(max_length=300)

    def clean_tags(self):
        tags = [tag for tag in re.split(r"[\s,]+", self.cleaned_data["tags"]) if tag]
        bad = [tag for tag in tags if not re.fullmatch(r"catalog|(brand|product):\d{1,12}", tag)]
        if bad:
            raise forms.ValidationError(
                f"Not a cache tag: {bad[0][:40]!r}. Use catalog, brand:<id> or product:<id>."
            )
        if not tags:
            raise forms.ValidationError("Give at least one tag.")
        return list(dict.fromkeys(tags))


class WebhookFilterForm(forms.Form):
    """Filters of the webhooks page; every field optional. `type` choices are the
    stored event types (set by the view)."""

    q = forms.CharField(
        required=False, max_length=255, strip=True, label="Order number, email or Stripe id"
    )
    status = forms.ChoiceField(required=False)
    type = forms.ChoiceField(required=False, label="Event type")
    since = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False,
        label="To",
        help_text="Inclusive, UTC days.",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args, statuses, types, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["status"]).choices = [("", "Any status"), *statuses]
        cast(forms.ChoiceField, self.fields["type"]).choices = [
            ("", "Any type"),
            *((t, t) for t in types),
        ]

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError("“From” must be on or before “To”.")
        return data


class ReplayFailedForm(forms.Form):
    confirm = forms.BooleanField(label="Yes, run every failed event through its handler again now.")
