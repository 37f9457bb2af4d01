"""The hosted checkout page: an order summary, the test cards, and a pay button.
Plain HTML forms, no script; the stylesheet is `static/checkout.css`."""

from __future__ import annotations

from html import escape

from payments.standin.objects import format_amount
from payments.standin.store import ASYNC_FAILS, ASYNC_SUCCEEDS, CARD_DECLINED, CARD_SUCCEEDS

TEST_CARDS = (
    (CARD_SUCCEEDS, "4242 4242 4242 4242", "succeeds"),
    (CARD_DECLINED, "4000 0000 0000 0002", "is declined"),
    (ASYNC_SUCCEEDS, "async: succeeds later", "bank debit, paid a few seconds later"),
    (ASYNC_FAILS, "async: fails later", "bank debit, fails a few seconds later"),
)


def _layout(title: str, body: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{escape(title)}</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/_standin/static/checkout.css">
</head>
<body>
  <div class="banner">Test mode: the local Stripe stand-in. No real money moves.</div>
  {body}
</body>
</html>
"""


def checkout_page(session: dict, *, error: str | None = None, chosen: str = CARD_SUCCEEDS) -> str:
    items = session["line_items"]["data"]
    currency = session["currency"]
    rows = "".join(
        f"""<li class="item">
          <span class="item-name">{escape(item["description"])}
            <span class="item-qty">Qty {item["quantity"]}</span></span>
          <span class="item-amount">{format_amount(item["amount_total"], currency)}</span>
        </li>"""
        for item in items
    )
    total = format_amount(session["amount_total"], currency)
    cards = "".join(
        f"""<label class="card-option">
          <input type="radio" name="card" value="{value}"{" checked" if value == chosen else ""}>
          <span class="card-number">{escape(number)}</span>
          <span class="card-note">{escape(note)}</span>
        </label>"""
        for value, number, note in TEST_CARDS
    )
    alert = (
        f'<div class="alert" role="alert"><strong>{escape(error)}</strong> '
        "Choose another card and try again, or go back to the shop.</div>"
        if error
        else ""
    )
    email = escape(session.get("customer_email") or "")
    cancel = escape(session.get("cancel_url") or "")
    back = f'<a class="back" href="{cancel}">&larr; Back to Real Deal Kickz</a>' if cancel else ""
    short_id = escape(session["id"][:20])
    body = f"""<main class="checkout">
  <section class="summary" aria-label="Order summary">
    {back}
    <p class="merchant">Real Deal Kickz</p>
    <p class="total-label">Pay</p>
    <p class="total">{total}</p>
    <ul class="items">{rows}</ul>
    <div class="total-row"><span>Total due</span><span>{total}</span></div>
  </section>
  <section class="pay" aria-label="Payment">
    <h1>Pay with card</h1>
    {alert}
    <form method="post" action="/c/pay/{escape(session["id"])}">
      <label class="field">Email
        <input type="email" name="email" value="{email}" autocomplete="email" required>
      </label>
      <fieldset class="cards">
        <legend>Test card</legend>
        {cards}
      </fieldset>
      <button type="submit" class="pay-button">Pay {total}</button>
    </form>
    {f'<a class="cancel" href="{cancel}">Cancel and return to the shop</a>' if cancel else ""}
    <p class="footer">Powered by the RDK Stripe stand-in &middot; {short_id}…</p>
  </section>
</main>"""
    return _layout(f"Pay Real Deal Kickz · {total}", body)


def message_page(title: str, text: str, link: str | None = None, label: str = "") -> str:
    action = (
        f'<a class="pay-button link-button" href="{escape(link)}">{escape(label)}</a>'
        if link
        else ""
    )
    body = f"""<main class="checkout single">
  <section class="pay">
    <h1>{escape(title)}</h1>
    <p class="notice">{escape(text)}</p>
    {action}
  </section>
</main>"""
    return _layout(title, body)
