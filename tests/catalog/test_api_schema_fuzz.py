"""Schema-based fuzzing of /api/v1/ (schemathesis) against a live server:
openapi.yaml must describe every answer, its status and its body, and no
input may give a 5xx. The number of examples is bounded so `make test` stays
quick; a fixed seed makes a failure reproducible."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from tests.catalog.factories import BrandFactory, ProductFactory, VariantFactory

SCHEMA = Path(__file__).resolve().parents[2] / "openapi.yaml"
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
        "negative_data_rejection",
    ]
)
MAX_EXAMPLES = 50


@pytest.fixture
def catalog(settings):
    # Fuzzing sends hundreds of requests from one address: lift the API limit.
    settings.RATE_LIMITS = {**getattr(settings, "RATE_LIMITS", {}), "api_ip": "100000/m"}
    nike = BrandFactory(name="Nike", slug="nike")
    for index in range(3):
        product = ProductFactory(brand=nike, name=f"Air Max {90 + index}", slug=f"air-max-{index}")
        VariantFactory(product=product, size=Decimal("9.5"))


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_api_answers_as_openapi_yaml_says(live_server, catalog, tmp_path):
    command = [
        str(Path(sys.executable).with_name("st")),
        "run",
        str(SCHEMA),
        "--url",
        live_server.url,
        # Two read-only operations: no stateful sequences to explore.
        "--phases",
        "examples,coverage,fuzzing",
        "--checks",
        CHECKS,
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        "14",
        "--generation-deterministic",
        "--request-timeout",
        "10",
        "--no-color",
    ]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
