"""The outbox:// backend prints a message as a person reads it."""

import io

from django.core.mail import EmailMultiAlternatives

from rdk.mail import OutboxConsoleBackend

LINK = "http://127.0.0.1:8000/account/reset/MQ/" + "c" * 60 + "/?next=/account/&x=1"


def test_long_links_are_printed_whole_not_quoted_printable():
    stream = io.StringIO()
    message = EmailMultiAlternatives("Reset", f"Open {LINK}\n", "shop@rdk.test", ["ann@rdk.test"])
    message.attach_alternative(f'<a href="{LINK}">reset</a>', "text/html")
    OutboxConsoleBackend(stream=stream).send_messages([message])
    printed = stream.getvalue()
    assert LINK in printed
    assert "=3D" not in printed
    assert "To: ann@rdk.test" in printed
    assert "Also as: text/html" in printed
