"""Domain errors of accounts, cart, checkout and orders; messages are fit to show shoppers."""

from rdk.exceptions import RdkError


class OrdersError(RdkError):
    code = "orders_error"


class CartError(OrdersError):
    """Bad cart input: unknown size, quantity out of range, product not on sale."""

    code = "cart_invalid"


class CartChanged(OrdersError):
    """Prices or stock changed since the shopper last saw the cart; show it again."""

    code = "cart_changed"


class CartEmpty(OrdersError):
    code = "cart_empty"


class OutOfStock(OrdersError):
    code = "out_of_stock"


class CheckoutUnavailable(OrdersError):
    code = "checkout_unavailable"


class InvalidTransition(OrdersError):
    code = "invalid_transition"


class RefundTooLarge(OrdersError):
    code = "refund_too_large"


class PaymentMismatch(OrdersError):
    code = "payment_mismatch"


class ShippingInvalid(OrdersError):
    """An unknown carrier or a tracking number that does not fit the carrier."""

    code = "shipping_invalid"


class AddressInvalid(OrdersError):
    """A shipping address that cannot be shipped to; `errors` maps each field to its message."""

    code = "address_invalid"

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__(" ".join(errors.values()))


class AccountExists(OrdersError):
    """A sign-up for an email that has an account (a second submission or a
    replayed request that lost the race to the first)."""

    code = "account_exists"
