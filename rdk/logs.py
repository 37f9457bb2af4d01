"""Log formatting: one JSON object per line, or a readable console line.

Every record carries the current request id (see `rdk.requestid`). Fields
passed with `extra=` become top-level keys of the JSON object."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from rdk.requestid import get_request_id

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}


class RedactFilter(logging.Filter):
    """Django's own request loggers (`django.request`, `django.security`) put
    the path in the message and the request, query string and all, on the
    record: both go out with credentials redacted (rdk.redaction)."""

    def filter(self, record: logging.LogRecord) -> bool:
        from django.http import HttpRequest

        from rdk.redaction import redact_path, redact_query

        request = getattr(record, "request", None)
        if not isinstance(request, HttpRequest):
            return True
        path = redact_path(request)
        query = redact_query(request.META.get("QUERY_STRING", ""))
        message = record.getMessage()
        if path != request.path:
            message = message.replace(request.path, path)
        record.msg, record.args = message, ()
        record.request = f"<{request.method} {path}{'?' + query if query else ''}>"
        return True


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = get_request_id()
        return True


def _fields(record: logging.LogRecord) -> dict[str, object]:
    return {key: value for key, value in vars(record).items() if key not in _STANDARD}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or get_request_id(),
        }
        for key, value in _fields(record).items():
            entry.setdefault(key, value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class ConsoleFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, tz=UTC).strftime("%H:%M:%S")
        request_id = getattr(record, "request_id", None) or "-"
        fields = " ".join(f"{key}={value}" for key, value in _fields(record).items())
        # The whole id: grepping the logs (JSON or console) for it must find the line.
        line = f"{ts} {record.levelname:<7} {record.name} [{request_id}] {record.getMessage()}"
        if fields:
            line = f"{line}  {fields}"
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        return line
