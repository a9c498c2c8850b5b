"""The admin console at /admin-console/: an organisation's admins look after its members.

Thin views (views.py) over reads scoped by organisation (selectors.py) and the admin actions
in ``orgs.services`` ("Admin console actions"); who may do what is ``orgs.policies``'
role table (``ROLE_ACTIONS``).
"""
