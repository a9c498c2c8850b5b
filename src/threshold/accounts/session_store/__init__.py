"""Django's database-backed session stores, kept on the server only as long as they may live.

SECURITY: Django keeps a session that ends "when the browser closes" for
``SESSION_COOKIE_AGE`` on the server (30 days here, the "Keep me signed in" length): a copied
cookie would have gone on working that long after the browser was closed. These stores keep
such a session for the idle time instead (``SESSION_IDLE_SECONDS``), counted from its last
save; ``accounts.session_activity.SessionIdleMiddleware`` saves it at most once a minute
while it is in use, and ends it once the idle time has passed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from django.contrib.sessions.backends.base import SessionBase

    _Base = SessionBase
else:
    _Base = object


class IdleExpiryMixin(_Base):
    """A browser-session session (expiry 0) expires on the server after the idle time."""

    def get_session_cookie_age(self) -> int:
        if self.get("_session_expiry") == 0:
            return int(settings.SESSION_IDLE_SECONDS)
        return int(settings.SESSION_COOKIE_AGE)
