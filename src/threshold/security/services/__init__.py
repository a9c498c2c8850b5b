"""The only writers of sign-in security, one module per use case.

Each service asks ``orgs.policies`` first, needs a recent sign-in (``ensure_fresh_sign_in``)
before a method is added, renamed or removed, two-step verification is turned off or new
recovery codes are made, changes inside ``transaction.atomic()`` and records the event; ``record_event`` queues the
alert for the catalogue's ``notify_user`` types, to go out once the change commits.
Import each function from the module that owns it; nothing is re-exported here.
"""
