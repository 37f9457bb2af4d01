"""Run by tests/rdk/test_interrupted_run.py in a pytest of its own (never
collected by the suite: the name does not start with test_)."""

import os

import pytest
from django.contrib.auth import get_user_model


@pytest.mark.django_db(transaction=True)
def test_creates_ops_then_is_killed():
    get_user_model().objects.create_user("ops", password="pw-long-enough-1")
    with open(os.environ["RDK_SCENARIO_READY"], "w") as ready:
        ready.write("inside")
    with open(os.environ["RDK_SCENARIO_HOLD"]) as hold:  # no writer ever comes: killed here
        hold.read()


@pytest.mark.django_db(transaction=True)
def test_creates_ops():
    get_user_model().objects.create_user("ops", password="pw-long-enough-1")
