"""``SESSION_ENGINE`` without a shared cache: sessions in the database."""

from django.contrib.sessions.backends import db

from threshold.accounts.session_store import IdleExpiryMixin


class SessionStore(IdleExpiryMixin, db.SessionStore):
    pass
