"""New recovery codes, held in the server-side session to be shown once.

Any view that makes a new set (security's own page, two-step set-up, recovery's set-up)
hands them here; security's recovery-codes page shows, downloads and prints them.
"""

from __future__ import annotations

import time

from django.http import HttpRequest

NEW_CODES_SESSION_KEY = "threshold.security.new_recovery_codes"


NEW_CODES_SECONDS = 10 * 60


def keep_new_codes(request: HttpRequest, codes: list[str], *, then: str = "") -> None:
    """Show ``codes`` once on the recovery-codes page; "I have saved my codes" leads to ``then``
    (a path of this site; Security info when empty)."""
    # SECURITY: the plain codes exist only here, in the server-side session, for ten
    # minutes or until the person says they saved them; they are never shown again.
    request.session[NEW_CODES_SESSION_KEY] = {
        "user": str(request.user.pk),
        "codes": codes,
        "at": time.time(),
        "then": then if then.startswith("/") and not then.startswith(("//", "/\\")) else "",
    }


def new_codes(request: HttpRequest) -> list[str]:
    """The codes kept for this person, or none once they are older than ten minutes."""
    state = request.session.get(NEW_CODES_SESSION_KEY)
    if (
        not isinstance(state, dict)
        or state.get("user") != str(request.user.pk)
        or time.time() - float(state.get("at", 0)) > NEW_CODES_SECONDS
    ):
        request.session.pop(NEW_CODES_SESSION_KEY, None)
        return []
    return [str(code) for code in state.get("codes", [])]
