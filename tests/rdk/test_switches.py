from __future__ import annotations

import pytest

from rdk import switches
from rdk.audit import ops_action
from rdk.exceptions import UnknownSwitch


@pytest.mark.django_db(transaction=True)
def test_defaults_then_set_and_read_back(django_assert_num_queries):
    assert switches.switch_is_on("feature.checkout") is True
    assert switches.switch_is_on("cache.force_dynamic") is False
    seen = []
    ops_action.connect(lambda **kw: seen.append(kw), weak=False, dispatch_uid="test-switch-audit")
    try:
        switches.switch_set(
            name="cache.force_dynamic", on=True, actor="ops@rdk", reason="incident 7"
        )
    finally:
        ops_action.disconnect(dispatch_uid="test-switch-audit")
    assert switches.switch_is_on("cache.force_dynamic") is True
    assert seen[0]["action"] == "switch.set"
    assert seen[0]["target"] == "cache.force_dynamic"
    # Read from the shared cache: no SQL per request.
    with django_assert_num_queries(0):
        switches._local.update({"states": None})
        assert switches.switch_is_on("cache.force_dynamic") is True


@pytest.mark.django_db
def test_unknown_switch_is_refused():
    with pytest.raises(UnknownSwitch):
        switches.switch_is_on("feature.teleport")
    with pytest.raises(UnknownSwitch):
        switches.switch_set(name="feature.teleport", on=True, actor="x")
