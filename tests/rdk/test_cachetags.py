from __future__ import annotations

import pytest
from django.db import transaction

from rdk import cachetags


@pytest.mark.django_db(transaction=True)
def test_revalidation_changes_only_the_keys_under_that_tag(json_logs):
    product_key = cachetags.tagged_key("card", ["catalog", "product:1"])
    other_key = cachetags.tagged_key("card", ["catalog", "product:2"])
    cachetags.revalidate_tag("product:1", reason="price edit")
    assert cachetags.tagged_key("card", ["catalog", "product:1"]) != product_key
    assert cachetags.tagged_key("card", ["catalog", "product:2"]) == other_key
    entry = cachetags.revalidation_log()[0]
    assert entry["tags"] == ["product:1"]
    assert entry["reason"] == "price edit"
    assert any(line["event"] == "cache.revalidate" for line in json_logs())


@pytest.mark.django_db(transaction=True)
def test_rolled_back_write_revalidates_nothing():
    before = cachetags.tag_versions(["catalog"])

    def doomed_write():
        with transaction.atomic():
            cachetags.revalidate_tag("catalog", reason="doomed")
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        doomed_write()
    assert cachetags.tag_versions(["catalog"]) == before
    with transaction.atomic():
        cachetags.revalidate_tag("catalog", reason="kept")
        assert cachetags.tag_versions(["catalog"]) == before  # not before commit
    assert cachetags.tag_versions(["catalog"])["catalog"] != before["catalog"]
