"""The only writers of account closure (and, with it, the purge of personal data), data
exports, password reset, Temporary Access Passes and account recovery, one module per use case.

Each service asks ``orgs.policies`` first, needs a fresh sign-in where the change could
hurt the person, changes inside ``transaction.atomic()`` and records the event; the
catalogue's ``notify_user`` types alert every verified address once the change commits.
Import each function from the module that owns it; nothing is re-exported here.
"""
