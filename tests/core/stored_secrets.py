"""Finding every secret, hash, token, key or code the database holds, to prove a page or file shows none."""

from __future__ import annotations

import json
import re
from typing import Any

from django.apps import apps
from django.db import models

# A field holds a secret, a hash, a token, a key or a code when its name says so; `data`
# is allauth's (an authenticator's secret or credential, a session's details) and
# `args_kwargs` what a background task was given.
SECRET_FIELD = re.compile(r"(secret|hash|token|password$|session_key|^key$|session_data|^data$|args_kwargs)")


def secret_fields(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    return [
        f
        for f in model._meta.concrete_fields
        if SECRET_FIELD.search(f.name)
        and isinstance(f, (models.CharField, models.TextField, models.JSONField))
    ]


def leaves(value: Any) -> list[str]:
    """The strings inside a JSON value, but for labels (a passkey's name, a credential's type)."""
    if isinstance(value, dict):
        return [leaf for key, item in value.items() if key not in {"name", "type"} for leaf in leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in leaves(item)]
    return [str(value)] if isinstance(value, str) else []


def stored_secrets() -> set[str]:
    """Every value of every secret-holding field in the database, long enough to be telling."""
    found: set[str] = set()
    for model in apps.get_models():
        for field in secret_fields(model):
            for value in model._default_manager.values_list(field.name, flat=True):
                found.update(leaf for leaf in leaves(value) if len(leaf) >= 16)
                if isinstance(value, dict | list) and value:
                    found.add(json.dumps(value))
    return found
