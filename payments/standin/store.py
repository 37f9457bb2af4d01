"""The stand-in's state and the rules Stripe applies to it: Checkout Sessions,
payments (succeeded, declined, asynchronous), expiry, refunds, events and
idempotency keys. Thread-safe; every mutation returns the events it created so
the caller decides how to deliver them."""

from __future__ import annotations

import copy
import itertools
import json
import threading
import time
from collections.abc import Callable

from payments.standin import objects
from payments.standin.objects import StripeApiError, as_int, as_list, missing, new_id, no_such

MIN_EXPIRY = 30 * 60  # Stripe: expires_at between 30 minutes and 24 hours from creation
MAX_EXPIRY = 24 * 60 * 60
DEFAULT_EXPIRY = 24 * 60 * 60
EXPANDABLE = {"line_items", "payment_intent", "payment_intent.latest_charge"}

# What the hosted page's test cards do.
CARD_SUCCEEDS = "succeeds"
CARD_DECLINED = "declined"
ASYNC_SUCCEEDS = "async_succeeds"
ASYNC_FAILS = "async_fails"
OUTCOMES = (CARD_SUCCEEDS, CARD_DECLINED, ASYNC_SUCCEEDS, ASYNC_FAILS)

DECLINE = {
    "type": "card_error",
    "code": "card_declined",
    "decline_code": "generic_decline",
    "message": "Your card was declined.",
}


class Store:
    def __init__(
        self, *, public_url: str, api_version: str, clock: Callable[[], float] = time.time
    ) -> None:
        self.public_url = public_url.rstrip("/")
        self.api_version = api_version
        self.clock = clock
        self.lock = threading.RLock()
        self.sessions: dict[str, dict] = {}
        self.line_items: dict[str, list[dict]] = {}
        self.payment_intents: dict[str, dict] = {}
        self.charges: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.events: list[dict] = []
        self.async_outcome: dict[str, str] = {}  # session id -> ASYNC_SUCCEEDS / ASYNC_FAILS
        self.idempotency: dict[str, tuple[str, int, dict]] = {}
        self._seq = itertools.count()  # creation order within one second

    def now(self) -> int:
        return int(self.clock())

    # Idempotency ------------------------------------------------------------------

    def idempotent(self, key: str | None, fingerprint: dict, run: Callable[[], tuple[int, dict]]):
        """Stripe's rule: the same key with the same parameters answers the first
        response again; with different parameters it is an idempotency_error."""
        if not key:
            return (*run(), False)
        signature = json.dumps(fingerprint, sort_keys=True)
        with self.lock:
            if key in self.idempotency:
                stored, status, body = self.idempotency[key]
                if stored != signature:
                    raise StripeApiError(
                        400,
                        "Keys for idempotent requests can only be used with the same "
                        "parameters they were first used with. Try using a key other than "
                        f"'{key}' if you meant to execute a different request.",
                        type="idempotency_error",
                    )
                return status, copy.deepcopy(body), True
            # Like Stripe, a request that fails validation saves no result: the
            # same key may be retried once the parameters are fixed.
            status, body = run()
            self.idempotency[key] = (signature, status, copy.deepcopy(body))
            return status, body, False

    # Events -------------------------------------------------------------------------

    def _event(self, type: str, obj: dict, previous: dict | None = None) -> dict:
        created = objects.event(
            type=type,
            obj=copy.deepcopy(obj),
            api_version=self.api_version,
            created=self.now(),
            previous=previous,
        )
        self.events.append(created)
        return created

    def event_get(self, event_id: str) -> dict:
        with self.lock:
            for item in self.events:
                if item["id"] == event_id:
                    return item
        raise no_such("event", event_id)

    # Checkout Sessions ----------------------------------------------------------------

    def session_create(self, params: dict) -> dict:
        mode = params.get("mode")
        if not mode:
            raise missing("mode")
        if mode != "payment":
            raise StripeApiError(400, "The stand-in supports only mode=payment.", param="mode")
        if not params.get("success_url"):
            raise missing("success_url")
        raw_items = as_list(params.get("line_items"))
        if not raw_items:
            raise missing("line_items")
        items = [self._line_item(raw, index) for index, raw in enumerate(raw_items)]
        currencies = {item["currency"] for item in items}
        if len(currencies) > 1:
            raise StripeApiError(
                400, "All line items must have the same currency.", param="line_items"
            )
        now = self.now()
        expires_at = (
            as_int(params["expires_at"], "expires_at")
            if params.get("expires_at")
            else now + DEFAULT_EXPIRY
        )
        if not now + MIN_EXPIRY - 60 <= expires_at <= now + MAX_EXPIRY:
            raise StripeApiError(
                400,
                "The `expires_at` timestamp must be between 30 minutes and 24 hours "
                "from Checkout Session creation.",
                param="expires_at",
            )
        metadata = params.get("metadata") or {}
        intent_data = params.get("payment_intent_data") or {}
        total = sum(item["amount_total"] for item in items)
        session_id = new_id("cs_test_", 58)
        session = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": total,
            "amount_total": total,
            "cancel_url": params.get("cancel_url"),
            "client_reference_id": params.get("client_reference_id"),
            "created": now,
            "currency": items[0]["currency"],
            "customer": None,
            "customer_details": None,
            "customer_email": params.get("customer_email"),
            "expires_at": expires_at,
            "livemode": False,
            "metadata": dict(metadata),
            "mode": "payment",
            "payment_intent": None,
            "payment_method_types": ["card"],
            "payment_status": "unpaid",
            "status": "open",
            "success_url": params["success_url"],
            "ui_mode": "hosted",
            "url": f"{self.public_url}/c/pay/{session_id}",
            "_intent_metadata": dict(intent_data.get("metadata") or {}),
            "_seq": next(self._seq),
        }
        with self.lock:
            self.sessions[session_id] = session
            self.line_items[session_id] = items
        return self.session_view(session_id)

    def _line_item(self, raw: dict, index: int) -> dict:
        prefix = f"line_items[{index}]"
        if not isinstance(raw, dict):
            raise StripeApiError(400, f"Invalid {prefix}", param=prefix)
        if raw.get("price"):
            raise StripeApiError(
                400, "The stand-in supports only price_data line items.", param=f"{prefix}[price]"
            )
        price_data = raw.get("price_data")
        if not isinstance(price_data, dict):
            raise missing(f"{prefix}[price_data]")
        currency = str(price_data.get("currency") or "").lower()
        if len(currency) != 3 or not currency.isalpha():
            raise StripeApiError(
                400, f"Invalid currency: {currency}", param=f"{prefix}[price_data][currency]"
            )
        unit_amount = as_int(
            price_data.get("unit_amount"), f"{prefix}[price_data][unit_amount]", minimum=0
        )
        name = ((price_data.get("product_data") or {}).get("name") or "").strip()
        if not name:
            raise missing(f"{prefix}[price_data][product_data][name]")
        quantity = as_int(raw.get("quantity"), f"{prefix}[quantity]", minimum=1)
        return objects.line_item(
            price_data={
                "currency": currency,
                "unit_amount": unit_amount,
                "product_data": {"name": name},
            },
            quantity=quantity,
        )

    def _session(self, session_id: str) -> dict:
        session = self.sessions.get(session_id)
        if session is None:
            raise no_such("checkout.session", session_id, "session")
        return session

    def session_view(self, session_id: str, expand: list[str] | None = None) -> dict:
        expand = list(expand or [])
        unknown = [name for name in expand if name not in EXPANDABLE]
        if unknown:
            raise StripeApiError(
                400, f"This property cannot be expanded ({unknown[0]}).", param="expand"
            )
        with self.lock:
            session = self._session(session_id)
            view = {k: copy.deepcopy(v) for k, v in session.items() if not k.startswith("_")}
            if "line_items" in expand:
                view["line_items"] = self.line_items_view(session_id)
            if view["payment_intent"] and any(e.startswith("payment_intent") for e in expand):
                intent = copy.deepcopy(self.payment_intents[view["payment_intent"]])
                if "payment_intent.latest_charge" in expand and intent["latest_charge"]:
                    intent["latest_charge"] = copy.deepcopy(self.charges[intent["latest_charge"]])
                view["payment_intent"] = intent
            return view

    def line_items_view(self, session_id: str) -> dict:
        with self.lock:
            self._session(session_id)
            return objects.list_object(
                copy.deepcopy(self.line_items[session_id]),
                url=f"/v1/checkout/sessions/{session_id}/line_items",
            )

    def session_list(self, params: dict) -> dict:
        with self.lock:
            sessions = sorted(
                self.sessions.values(), key=lambda s: (s["created"], s["_seq"]), reverse=True
            )
            status = params.get("status")
            if status:
                sessions = [s for s in sessions if s["status"] == status]
            if params.get("payment_intent"):
                sessions = [s for s in sessions if s["payment_intent"] == params["payment_intent"]]
            sessions = _created_filter(sessions, params.get("created"))
            views = [self.session_view(s["id"]) for s in sessions]
        return _page(views, params, url="/v1/checkout/sessions")

    def session_expire(self, session_id: str) -> tuple[dict, list[dict]]:
        with self.lock:
            session = self._session(session_id)
            if session["status"] != "open":
                raise StripeApiError(
                    400,
                    f'Only Checkout Sessions with a status in ["open"] can be expired. '
                    f'This Checkout Session has a status of "{session["status"]}".',
                )
            events = self._expire(session)
            return self.session_view(session_id), events

    def _expire(self, session: dict) -> list[dict]:
        session["status"] = "expired"
        session["url"] = None
        intent_id = session["payment_intent"]
        if intent_id:
            self.payment_intents[intent_id]["status"] = "canceled"
        return [self._event("checkout.session.expired", self.session_view(session["id"]))]

    def expire_due(self) -> list[dict]:
        """Sessions past `expires_at` become expired (lazily and from a timer)."""
        now = self.now()
        created: list[dict] = []
        with self.lock:
            for session in self.sessions.values():
                if session["status"] == "open" and session["expires_at"] <= now:
                    created += self._expire(session)
        return created

    # Payments -------------------------------------------------------------------------

    def _intent_for(self, session: dict) -> dict:
        if session["payment_intent"]:
            return self.payment_intents[session["payment_intent"]]
        intent = {
            "id": new_id("pi_"),
            "object": "payment_intent",
            "amount": session["amount_total"],
            "amount_capturable": 0,
            "amount_received": 0,
            "canceled_at": None,
            "created": self.now(),
            "currency": session["currency"],
            "customer": None,
            "description": None,
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": dict(session["_intent_metadata"]),
            "payment_method_types": ["card"],
            "receipt_email": session["customer_email"],
            "status": "requires_payment_method",
        }
        self.payment_intents[intent["id"]] = intent
        session["payment_intent"] = intent["id"]
        return intent

    def _charge(self, intent: dict, email: str | None, last4: str) -> dict:
        charge = {
            "id": new_id("ch_"),
            "object": "charge",
            "amount": intent["amount"],
            "amount_captured": intent["amount"],
            "amount_refunded": 0,
            "billing_details": {"email": email, "name": None},
            "captured": True,
            "created": self.now(),
            "currency": intent["currency"],
            "disputed": False,
            "livemode": False,
            "metadata": dict(intent["metadata"]),
            "paid": True,
            "payment_intent": intent["id"],
            "payment_method_details": {
                "type": "card",
                "card": {"brand": "visa", "last4": last4, "exp_month": 12, "exp_year": 2034},
            },
            "receipt_email": email,
            "refunded": False,
            "status": "succeeded",
        }
        self.charges[charge["id"]] = charge
        intent.update(
            status="succeeded",
            amount_received=intent["amount"],
            latest_charge=charge["id"],
            last_payment_error=None,
        )
        return charge

    def session_pay(self, session_id: str, outcome: str, email: str | None = None) -> list[dict]:
        """A shopper pays on the hosted page (or a test asks the control endpoint to)."""
        if outcome not in OUTCOMES:
            raise StripeApiError(400, f"Unknown outcome {outcome!r}.", param="outcome")
        created: list[dict] = []
        with self.lock:
            created += self.expire_due()
            session = self._session(session_id)
            if session["status"] != "open":
                raise StripeApiError(
                    400,
                    f"This Checkout Session is {session['status']} and can no longer be paid.",
                    code="checkout_session_not_open",
                )
            email = email or session["customer_email"] or "shopper@example.com"
            intent = self._intent_for(session)
            if outcome == CARD_DECLINED:
                intent["status"] = "requires_payment_method"
                intent["last_payment_error"] = dict(DECLINE)
                created.append(self._event("payment_intent.payment_failed", intent))
                return created
            session["customer_details"] = {"email": email, "name": None}
            session["status"] = "complete"
            session["url"] = None
            if outcome == CARD_SUCCEEDS:
                self._charge(intent, email, "4242")
                session["payment_status"] = "paid"
            else:
                intent["status"] = "processing"
                self.async_outcome[session_id] = outcome
            created.append(self._event("checkout.session.completed", self.session_view(session_id)))
        return created

    def session_settle(self, session_id: str, succeed: bool | None = None) -> list[dict]:
        """Settle an asynchronous payment: as chosen on the page, or as `succeed` says."""
        with self.lock:
            session = self._session(session_id)
            intent = self.payment_intents.get(session["payment_intent"] or "")
            if not (
                session["status"] == "complete" and intent and intent["status"] == "processing"
            ):
                raise StripeApiError(
                    400, "This Checkout Session has no payment processing.", code="not_processing"
                )
            if succeed is None:
                succeed = self.async_outcome.get(session_id) != ASYNC_FAILS
            self.async_outcome.pop(session_id, None)
            created = []
            if succeed:
                self._charge(intent, (session["customer_details"] or {}).get("email"), "1234")
                session["payment_status"] = "paid"
                kind = "checkout.session.async_payment_succeeded"
            else:
                intent["status"] = "requires_payment_method"
                intent["last_payment_error"] = dict(DECLINE)
                created.append(self._event("payment_intent.payment_failed", intent))
                kind = "checkout.session.async_payment_failed"
            created.append(self._event(kind, self.session_view(session_id)))
            return created

    def pending_async(self) -> list[str]:
        with self.lock:
            return list(self.async_outcome)

    # Payment intents, charges, refunds ---------------------------------------------------

    def intent_get(self, intent_id: str) -> dict:
        with self.lock:
            intent = self.payment_intents.get(intent_id)
            if intent is None:
                raise no_such("payment_intent", intent_id, "intent")
            return copy.deepcopy(intent)

    def charge_get(self, charge_id: str) -> dict:
        with self.lock:
            charge = self.charges.get(charge_id)
            if charge is None:
                raise no_such("charge", charge_id, "charge")
            return copy.deepcopy(charge)

    def refund_create(self, params: dict) -> tuple[dict, list[dict]]:
        with self.lock:
            if params.get("charge"):
                charge = self.charges.get(params["charge"])
                if charge is None:
                    raise no_such("charge", params["charge"], "charge")
            elif params.get("payment_intent"):
                intent = self.payment_intents.get(params["payment_intent"])
                if intent is None:
                    raise no_such("payment_intent", params["payment_intent"], "payment_intent")
                if not intent["latest_charge"]:
                    raise StripeApiError(
                        400,
                        "This PaymentIntent does not have a successful charge to refund.",
                        param="payment_intent",
                    )
                charge = self.charges[intent["latest_charge"]]
            else:
                raise StripeApiError(
                    400,
                    "One of the following params should be provided for this request: "
                    "payment_intent or charge.",
                    code="parameter_missing",
                )
            remaining = charge["amount_captured"] - charge["amount_refunded"]
            if remaining <= 0:
                raise StripeApiError(
                    400,
                    f"Charge {charge['id']} has already been refunded.",
                    code="charge_already_refunded",
                )
            amount = (
                as_int(params["amount"], "amount", minimum=1) if params.get("amount") else remaining
            )
            if amount > remaining:
                raise StripeApiError(
                    400,
                    f"Refund amount ({objects.format_amount(amount, charge['currency'])}) is "
                    f"greater than unrefunded amount on charge "
                    f"({objects.format_amount(remaining, charge['currency'])})",
                    code="amount_too_large",
                    param="amount",
                )
            refund = {
                "id": new_id("re_"),
                "object": "refund",
                "amount": amount,
                "charge": charge["id"],
                "created": self.now(),
                "currency": charge["currency"],
                "metadata": dict(params.get("metadata") or {}),
                "payment_intent": charge["payment_intent"],
                "reason": params.get("reason"),
                "status": "succeeded",
            }
            self.refunds[refund["id"]] = refund
            previous = {"amount_refunded": charge["amount_refunded"], "refunded": False}
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] >= charge["amount_captured"]
            created = [self._event("charge.refunded", charge, previous)]
            return copy.deepcopy(refund), created

    def event_list(self, params: dict) -> dict:
        with self.lock:
            events = list(reversed(self.events))
        if params.get("type"):
            events = [e for e in events if e["type"] == params["type"]]
        events = _created_filter(events, params.get("created"))
        return _page(copy.deepcopy(events), params, url="/v1/events")


def _created_filter(items: list[dict], created) -> list[dict]:
    if created is None:
        return items
    if not isinstance(created, dict):
        value = as_int(created, "created")
        return [i for i in items if i["created"] == value]
    ops = {
        "gte": lambda a, b: a >= b,
        "gt": lambda a, b: a > b,
        "lte": lambda a, b: a <= b,
        "lt": lambda a, b: a < b,
    }
    for op, value in created.items():
        if op not in ops:
            raise StripeApiError(400, f"Invalid created[{op}]", param=f"created[{op}]")
        bound = as_int(value, f"created[{op}]")
        items = [i for i in items if ops[op](i["created"], bound)]
    return items


def _page(items: list[dict], params: dict, *, url: str) -> dict:
    limit = as_int(params.get("limit", 10), "limit", minimum=1)
    if limit > 100:
        raise StripeApiError(400, "This value must be less than or equal to 100.", param="limit")
    after = params.get("starting_after")
    if after:
        ids = [item["id"] for item in items]
        if after not in ids:
            raise StripeApiError(404, f"No such object: '{after}'", param="starting_after")
        items = items[ids.index(after) + 1 :]
    return objects.list_object(items[:limit], url=url, has_more=len(items) > limit)
