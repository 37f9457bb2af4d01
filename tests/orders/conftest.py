"""Orders tests pay through the local Stripe stand-in (tests/payments/conftest.py)."""

from tests.payments.conftest import standin, standin_factory, webhook_secrets  # noqa: F401
