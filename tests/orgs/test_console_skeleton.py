"""Every admin console action runs in the one skeleton (``orgs.console.actions``): found by
walking the console's action modules, so that a new action which skips it fails here."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

from threshold.orgs.console import invitations, member_actions, org_settings
from threshold.orgs.policies import ConsoleAction

ACTION_MODULES = (member_actions, invitations, org_settings)


def _actions(module: ModuleType) -> Iterator[tuple[str, Callable[..., Any]]]:
    """The module's public functions that act for an admin on an organisation."""
    for name, value in vars(module).items():
        if name.startswith("_") or not inspect.isfunction(value) or value.__module__ != module.__name__:
            continue
        if {"organization", "actor", "request"} <= set(inspect.signature(value).parameters):
            yield name, value


def test_every_console_action_is_declared_with_the_skeleton() -> None:
    declared = {name: getattr(f, "console_action", None) for m in ACTION_MODULES for name, f in _actions(m)}
    assert sorted(declared) == [
        "block_member_sign_in",
        "change_branding_from_console",
        "change_policy_from_console",
        "import_members",
        "invite_from_console",
        "issue_member_access_pass",
        "remove_member_from_organization",
        "require_new_methods",
        "reset_member_password",
        "revoke_member_sessions",
        "set_admin_role",
        "unblock_member_sign_in",
    ]
    undeclared = [name for name, action in declared.items() if not isinstance(action, ConsoleAction)]
    assert not undeclared, f"console actions outside the skeleton: {undeclared}"
