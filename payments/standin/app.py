"""The stand-in's WSGI app: Stripe's API under /v1 (Bearer auth, form-encoded
bodies, idempotency keys, Stripe's error JSON), the hosted checkout page under
/c/pay/, and control endpoints for tests under /_standin/."""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from payments.standin import pages
from payments.standin.objects import StripeApiError, decode_form, new_id
from payments.standin.store import ASYNC_FAILS, ASYNC_SUCCEEDS, CARD_DECLINED, OUTCOMES

if TYPE_CHECKING:
    from payments.standin.server import StandIn

STATIC = Path(__file__).resolve().parent / "static"
MAX_BODY = 1024 * 1024
STATUS_TEXT = {200: "OK", 303: "See Other", 400: "Bad Request", 401: "Unauthorized",
               404: "Not Found", 405: "Method Not Allowed", 413: "Payload Too Large",
               500: "Internal Server Error"}  # fmt: skip


class Request:
    def __init__(self, environ: dict) -> None:
        self.environ = environ
        self.method = environ["REQUEST_METHOD"].upper()
        self.path = environ.get("PATH_INFO") or "/"
        self.query = environ.get("QUERY_STRING", "")
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY:
            raise StripeApiError(413, "Request body too large.")
        self.body = environ["wsgi.input"].read(length).decode("utf-8", "replace") if length else ""

    def header(self, name: str) -> str:
        return self.environ.get("HTTP_" + name.upper().replace("-", "_"), "")

    def params(self) -> dict:
        """Query parameters for GET, the form body otherwise (Stripe's encoding)."""
        return decode_form(self.query if self.method == "GET" else self.body)

    def control_params(self) -> dict:
        if "json" in self.environ.get("CONTENT_TYPE", "") and self.body.strip():
            try:
                data = json.loads(self.body)
            except ValueError:
                raise StripeApiError(400, "Body is not JSON.") from None
            if not isinstance(data, dict):
                raise StripeApiError(400, "Body must be a JSON object.")
            return data
        return dict(parse_qsl(self.body or self.query))


class Response:
    def __init__(self, status: int, body: bytes | str, content_type: str, headers=()) -> None:
        self.status = status
        self.body = body.encode() if isinstance(body, str) else body
        self.headers = [("Content-Type", content_type), *headers]

    @classmethod
    def json(cls, status: int, data: dict, headers=()) -> Response:
        return cls(status, json.dumps(data, indent=2), "application/json", headers)

    @classmethod
    def html(cls, body: str, status: int = 200) -> Response:
        return cls(status, body, "text/html; charset=utf-8")

    @classmethod
    def redirect(cls, location: str) -> Response:
        return cls(303, "", "text/plain", [("Location", location)])


Route = tuple[str, re.Pattern, Callable[..., Response]]


class App:
    def __init__(self, standin: StandIn) -> None:
        self.standin = standin
        self.store = standin.store
        self.routes: list[Route] = []
        api = self._api
        for method, pattern, view in (
            ("POST", r"/v1/checkout/sessions", api(self.session_create)),
            ("GET", r"/v1/checkout/sessions", api(self.session_list)),
            ("GET", r"/v1/checkout/sessions/(?P<sid>[^/]+)", api(self.session_get)),
            ("POST", r"/v1/checkout/sessions/(?P<sid>[^/]+)/expire", api(self.session_expire)),
            ("GET", r"/v1/checkout/sessions/(?P<sid>[^/]+)/line_items", api(self.line_items)),
            ("POST", r"/v1/refunds", api(self.refund_create)),
            ("GET", r"/v1/payment_intents/(?P<pid>[^/]+)", api(self.intent_get)),
            ("GET", r"/v1/charges/(?P<cid>[^/]+)", api(self.charge_get)),
            ("GET", r"/v1/events", api(self.event_list)),
            ("GET", r"/v1/events/(?P<eid>[^/]+)", api(self.event_get)),
            ("GET", r"/c/pay/(?P<sid>[^/]+)", self.page),
            ("POST", r"/c/pay/(?P<sid>[^/]+)", self.page_pay),
            ("GET", r"/_standin/static/checkout\.css", self.stylesheet),
            ("GET", r"/_standin/health", self.health),
            (
                "POST",
                r"/_standin/sessions/(?P<sid>[^/]+)/(?P<action>complete|fail|expire)",
                self.control_session,
            ),
            ("GET", r"/_standin/deliveries", self.deliveries),
            ("POST", r"/_standin/deliveries", self.redeliver),
            ("POST", r"/_standin/deliveries/flush", self.flush),
        ):
            self.routes.append((method, re.compile(pattern + r"/?"), view))

    def __call__(self, environ: dict, start_response) -> Iterable[bytes]:
        request_id = new_id("req_", 14)
        try:
            request = Request(environ)
            response = self.route(request)
        except StripeApiError as exc:
            response = Response.json(exc.status, exc.body())
        except Exception:  # an unexpected error answers like Stripe's api_error, never a trace
            self.standin.logger.exception("standin.error")
            response = Response.json(
                500,
                {"error": {"type": "api_error", "message": "The stand-in hit an internal error."}},
            )
        headers = [*response.headers, ("Request-Id", request_id),
                   ("Content-Length", str(len(response.body)))]  # fmt: skip
        status = f"{response.status} {STATUS_TEXT.get(response.status, 'Status')}"
        start_response(status, headers)
        return [response.body]

    def route(self, request: Request) -> Response:
        allowed = False
        for method, pattern, view in self.routes:
            match = pattern.fullmatch(request.path)
            if match:
                if method == request.method:
                    self.standin.expire_due()
                    return view(request, **match.groupdict())
                allowed = True
        verb = "Unrecognized request URL" if not allowed else "Method not allowed"
        raise StripeApiError(
            404 if not allowed else 405,
            f"{verb} ({request.method}: {request.path}). Please see https://stripe.com/docs "
            "or we can help at https://support.stripe.com/.",
        )

    # /v1: Stripe's API --------------------------------------------------------------

    def _api(self, view: Callable[..., tuple[int, dict]]) -> Callable[..., Response]:
        def wrapped(request: Request, **kwargs) -> Response:
            self._authenticate(request)
            params = request.params()
            headers = [
                ("Stripe-Version", request.header("Stripe-Version") or self.store.api_version)
            ]
            if request.method != "POST":
                status, body = view(params, **kwargs)
                return Response.json(status, body, headers)
            fingerprint = {"path": request.path, "params": params}
            status, body, replayed = self.store.idempotent(
                request.header("Idempotency-Key") or None,
                fingerprint,
                lambda: view(params, **kwargs),
            )
            if replayed:
                headers.append(("Idempotent-Replayed", "true"))
            return Response.json(status, body, headers)

        return wrapped

    def _authenticate(self, request: Request) -> None:
        auth = request.header("Authorization")
        if not auth:
            raise StripeApiError(
                401,
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                "YOUR_SECRET_KEY').",
            )
        scheme, _, key = auth.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            key.strip().encode(), self.standin.secret_key.encode()
        ):
            shown = key.strip()[-4:] if len(key.strip()) > 8 else ""
            raise StripeApiError(401, f"Invalid API Key provided: sk_****{shown}")

    def session_create(self, params: dict) -> tuple[int, dict]:
        return 200, self.store.session_create(params)

    def session_list(self, params: dict) -> tuple[int, dict]:
        return 200, self.store.session_list(params)

    def session_get(self, params: dict, sid: str) -> tuple[int, dict]:
        expand = params.get("expand") or []
        return 200, self.store.session_view(sid, expand if isinstance(expand, list) else [expand])

    def session_expire(self, params: dict, sid: str) -> tuple[int, dict]:
        session, events = self.store.session_expire(sid)
        self.standin.deliver(events)
        return 200, session

    def line_items(self, params: dict, sid: str) -> tuple[int, dict]:
        return 200, self.store.line_items_view(sid)

    def refund_create(self, params: dict) -> tuple[int, dict]:
        refund, events = self.store.refund_create(params)
        self.standin.deliver(events)
        return 200, refund

    def intent_get(self, params: dict, pid: str) -> tuple[int, dict]:
        return 200, self.store.intent_get(pid)

    def charge_get(self, params: dict, cid: str) -> tuple[int, dict]:
        return 200, self.store.charge_get(cid)

    def event_list(self, params: dict) -> tuple[int, dict]:
        return 200, self.store.event_list(params)

    def event_get(self, params: dict, eid: str) -> tuple[int, dict]:
        return 200, self.store.event_get(eid)

    # The hosted checkout page ----------------------------------------------------------

    def _page_session(self, sid: str) -> dict | Response:
        try:
            return self.store.session_view(sid, ["line_items"])
        except StripeApiError:
            return Response.html(
                pages.message_page(
                    "Checkout not found",
                    "This checkout link is not valid. Start again from the shop.",
                ),
                404,
            )

    def _closed(self, session: dict) -> Response:
        if session["status"] == "complete":
            return Response.html(
                pages.message_page(
                    "Already paid",
                    "This checkout has been completed.",
                    session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"]),
                    "Return to the shop",
                )
            )
        return Response.html(
            pages.message_page(
                "Checkout expired",
                "This checkout has expired. Your cart is still in the shop: "
                "start the checkout again.",
                session.get("cancel_url"),
                "Back to the shop",
            )
        )

    def page(self, request: Request, sid: str) -> Response:
        session = self._page_session(sid)
        if isinstance(session, Response):
            return session
        if session["status"] != "open":
            return self._closed(session)
        return Response.html(pages.checkout_page(session))

    def page_pay(self, request: Request, sid: str) -> Response:
        session = self._page_session(sid)
        if isinstance(session, Response):
            return session
        if session["status"] != "open":
            return self._closed(session)
        form = dict(parse_qsl(request.body))
        outcome = form.get("card", "")
        if outcome not in OUTCOMES:
            return Response.html(
                pages.checkout_page(session, error="Choose one of the test cards."), 400
            )
        events = self.store.session_pay(sid, outcome, email=form.get("email") or None)
        self.standin.deliver(events)
        if outcome == CARD_DECLINED:
            session = self.store.session_view(sid, ["line_items"])
            return Response.html(
                pages.checkout_page(session, error="Your card was declined.", chosen=CARD_DECLINED),
                200,
            )
        if outcome in (ASYNC_SUCCEEDS, ASYNC_FAILS):
            self.standin.settle_later(sid)
        return Response.redirect(session["success_url"].replace("{CHECKOUT_SESSION_ID}", sid))

    def stylesheet(self, request: Request) -> Response:
        return Response(
            200, (STATIC / "checkout.css").read_bytes(), "text/css; charset=utf-8",
            [("Cache-Control", "max-age=60")],
        )  # fmt: skip

    # /_standin: control endpoints for tests ----------------------------------------------

    def health(self, request: Request) -> Response:
        return Response.json(200, {"status": "ok", "webhook_url": self.standin.webhook_url})

    def _delivered(self, events: list[dict], mode: str) -> dict:
        body: dict = {"events": [{"id": e["id"], "type": e["type"]} for e in events]}
        if mode == "sync":
            body["deliveries"] = self.standin.deliverer.post_now(events)
        elif mode == "queue":
            self.standin.deliver(events)
        return body

    def control_session(self, request: Request, sid: str, action: str) -> Response:
        params = request.control_params()
        mode = params.get("deliver", "queue")
        if mode not in ("queue", "sync", "hold"):
            raise StripeApiError(400, "deliver must be queue, sync or hold.", param="deliver")
        session = self.store.session_view(sid)
        processing = session["status"] == "complete" and session["payment_status"] == "unpaid"
        if action == "expire":
            _, events = self.store.session_expire(sid)
        elif action == "complete" and processing:
            events = self.store.session_settle(sid, succeed=True)
        elif action == "fail" and processing:
            events = self.store.session_settle(sid, succeed=False)
        else:
            outcome = params.get("outcome", "succeeds" if action == "complete" else CARD_DECLINED)
            events = self.store.session_pay(sid, outcome, email=params.get("email"))
        return Response.json(200, self._delivered(events, mode))

    def deliveries(self, request: Request) -> Response:
        return Response.json(200, {"deliveries": [d.summary() for d in self.standin.deliverer.log]})

    def redeliver(self, request: Request) -> Response:
        """Deliver stored events again, now: `events` (ids; default all), `copies`
        (duplicates of each), `order` (given or reverse), `concurrent` (all at once)."""
        params = request.control_params()
        ids = params.get("events") or [e["id"] for e in self.store.events]
        if isinstance(ids, str):
            ids = [ids]
        try:
            copies = int(params.get("copies", 1))
        except (TypeError, ValueError):
            raise StripeApiError(400, "copies must be a whole number.", param="copies") from None
        if not 1 <= copies <= 20:
            raise StripeApiError(400, "copies must be between 1 and 20.", param="copies")
        order = params.get("order", "given")
        if order not in ("given", "reverse"):
            raise StripeApiError(400, "order must be given or reverse.", param="order")
        events = [self.store.event_get(event_id) for event_id in ids]
        if order == "reverse":
            events.reverse()
        batch = [event for event in events for _ in range(copies)]
        concurrent = _true(params.get("concurrent"))
        return Response.json(
            200, {"deliveries": self.standin.deliverer.post_now(batch, concurrent=concurrent)}
        )

    def flush(self, request: Request) -> Response:
        """Answers once queued deliveries were attempted (`retries`: and retried to the
        end; `async`: after the hosted page's async payments have settled)."""
        params = request.control_params()
        if _true(params.get("async")):  # first let async payments settle
            self.standin.settle_pending()
        return Response.json(
            200, self.standin.deliverer.flush(retries=_true(params.get("retries")))
        )


def _true(value) -> bool:
    return str(value).lower() in ("1", "true", "yes")
