"""``SESSION_ENGINE`` with Redis: sessions in the database, read through the cache."""

from django.contrib.sessions.backends import cached_db

from threshold.accounts.session_store import IdleExpiryMixin


class SessionStore(IdleExpiryMixin, cached_db.SessionStore):
    pass
