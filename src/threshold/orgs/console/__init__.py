"""The admin console at /admin-console/: an organisation's admins look after its members.

Thin views (views.py) over reads scoped by organisation (selectors.py) and the admin actions,
one module per use case (member_actions.py, invitations.py, org_settings.py), each run in the
one skeleton of actions.py; who may do what is ``orgs.policies``' role table (``ROLE_ACTIONS``).
"""
