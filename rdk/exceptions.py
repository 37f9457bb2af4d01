"""The root of every domain error in RDK. Each app derives its own root from it."""


class RdkError(Exception):
    """A domain rule was broken; the message is fit to show to the person acting."""

    code = "error"

    def __init__(self, message: str = "", *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class UnknownSwitch(RdkError):
    code = "unknown_switch"
