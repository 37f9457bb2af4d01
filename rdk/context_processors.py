from django.conf import settings
from django.http import HttpRequest

from rdk.switches import CHECKOUT_MAINTENANCE, switch_is_on


def shop(request: HttpRequest) -> dict[str, object]:
    return {
        "SHOP_NAME": "Real Deal Kickz",
        "RDK_ENV": settings.RDK_ENV,
        "RDK_RELEASE": settings.RDK_RELEASE,
        # Called only by templates that ask (product and cart pages).
        "checkout_paused": lambda: switch_is_on(CHECKOUT_MAINTENANCE),
    }
