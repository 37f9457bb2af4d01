from django.conf import settings
from django.http import HttpRequest


def shop(request: HttpRequest) -> dict[str, object]:
    return {
        "SHOP_NAME": "Real Deal Kickz",
        "RDK_ENV": settings.RDK_ENV,
        "RDK_RELEASE": settings.RDK_RELEASE,
    }
