"""The `outbox://` mail backend for local and staging (EMAIL_URL).

Django's console backend prints the encoded message: quoted-printable breaks
long lines with `=` and escapes `=` itself as `=3D`, so a password-reset link
copied from the terminal does not work. This backend prints each message
decoded: the headers a person reads, then the plain text as written, links
whole. Every email RDK sends is also kept in the database (`rdk.emails`), and
the ops console's Outbox page shows it with its HTML rendered.
"""

from __future__ import annotations

from django.core.mail import EmailMessage
from django.core.mail.backends.console import EmailBackend


class OutboxConsoleBackend(EmailBackend):
    def write_message(self, message: EmailMessage) -> None:
        alternatives = [mimetype for _, mimetype in getattr(message, "alternatives", [])]
        lines = [
            f"From: {message.from_email}",
            f"To: {', '.join(message.to)}",
            f"Subject: {message.subject}",
        ]
        if alternatives:
            lines.append(f"Also as: {', '.join(alternatives)} (see the ops console's Outbox)")
        self.stream.write("\n".join(lines) + "\n\n" + message.body + "\n" + "-" * 79 + "\n")
