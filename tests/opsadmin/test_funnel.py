"""The checkout funnel on the ops home and `manage.py funnel`, with the alert."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from rdk.models import FunnelCount

pytestmark = pytest.mark.django_db


def _hour(hours_ago: int = 0) -> dt.datetime:
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    return now - dt.timedelta(hours=hours_ago)


def _counts(hour: dt.datetime, **steps: int) -> None:
    FunnelCount.objects.bulk_create(
        FunnelCount(hour=hour, step=step, count=count) for step, count in steps.items()
    )


def test_the_ops_home_shows_the_funnel_with_drops_and_the_alert(ops_client, settings):
    settings.FUNNEL_ALERT_PAID_PERCENT = 50
    settings.FUNNEL_ALERT_MIN_HANDOVERS = 5
    _counts(
        _hour(),
        product_view=200,
        cart_add=50,
        checkout_start=20,
        stripe_handover=10,
        paid=3,
        abandoned=4,
    )
    _counts(_hour(30), product_view=999)  # outside both windows
    response = ops_client.get(reverse("admin:ops_home"))
    funnel = response.context["funnel"]
    recent = funnel.windows[0]
    assert [(r.count, r.drop_percent) for r in recent.rows] == [
        (200, None),
        (50, 75),
        (20, 60),
        (10, 50),
        (3, 70),
    ]
    assert recent.abandoned == 4
    assert funnel.paid_percent == 30
    assert "below the 50 % alert threshold" in funnel.alert
    page = response.content.decode()
    assert "Checkout funnel" in page
    assert 'role="alert">Paid / handed to Stripe is 30 %' in page


def test_the_alert_stays_quiet_below_the_minimum_volume_or_above_the_threshold(
    ops_client, settings
):
    settings.FUNNEL_ALERT_MIN_HANDOVERS = 5
    _counts(_hour(), stripe_handover=4, paid=0)
    assert ops_client.get(reverse("admin:ops_home")).context["funnel"].alert == ""
    FunnelCount.objects.all().delete()
    _counts(_hour(), stripe_handover=10, paid=6)
    assert ops_client.get(reverse("admin:ops_home")).context["funnel"].alert == ""


def test_the_funnel_command_exits_non_zero_on_the_alert(capsys):
    _counts(_hour(1), stripe_handover=8, paid=8)
    call_command("funnel")
    assert "Paid / handed to Stripe in the last hour: 100 %" in capsys.readouterr().out
    _counts(_hour(), stripe_handover=12, paid=0)
    with pytest.raises(CommandError, match="below the 50 % alert threshold"):
        call_command("funnel")


def test_staff_without_a_second_factor_cannot_see_it(client, staff):
    client.force_login(staff.user)
    response = client.get(reverse("admin:ops_home"))
    assert response.status_code == 302
