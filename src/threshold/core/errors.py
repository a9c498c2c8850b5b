"""Errors that services raise and views turn into answers a person understands."""

from __future__ import annotations

from allauth.core.exceptions import ReauthenticationRequired

from threshold.core.decisions import Decision


class PolicyDenied(Exception):
    """An organisation policy forbids the change; ``decision`` says why and who decided."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(decision.message or decision.reason_code)
        self.decision = decision


class FreshSignInRequired(ReauthenticationRequired):
    """The change needs a sign-in from the last few minutes.

    It is allauth's ReauthenticationRequired, so wherever it escapes a view allauth's
    middleware answers with the re-sign-in page and comes back afterwards; our own views
    catch it first and send the person to ``/accounts/reauthenticate/?next=…``.
    """

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


class Refused(Exception):
    """A service did not make the change; ``message`` tells the person why and what to do.

    ``code`` names the reason for code and tests; ``retry_after`` (seconds) is set when
    trying again later will do (a throttle or a wait).
    """

    def __init__(self, message: str, *, code: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.retry_after = retry_after
