"""The only writers of sign-in security, one module per use case.

Each service asks ``orgs.policies`` first, needs a recent sign-in where issue 3 §4 says so,
changes inside ``transaction.atomic()`` and records the event; ``record_event`` queues the
alert for the catalogue's ``notify_user`` types, to go out once the change commits.
Import each function from the module that owns it; nothing is re-exported here.
"""
