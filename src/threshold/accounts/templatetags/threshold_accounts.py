"""Template helpers for the entrance and password pages."""

from __future__ import annotations

from allauth.account import app_settings as account_settings
from django import template
from django.contrib.auth import password_validation

register = template.Library()


@register.simple_tag
def password_rules() -> list[str]:
    """The password rules in words, one per validator, from the validators themselves."""
    return password_validation.password_validators_help_texts()


@register.simple_tag
def code_minutes(purpose: str) -> int:
    """How many minutes a code sent for ``purpose`` ("email" or "login") stays valid."""
    if purpose == "login":
        seconds = account_settings.LOGIN_BY_CODE_TIMEOUT
    else:
        seconds = account_settings.EMAIL_VERIFICATION_BY_CODE_TIMEOUT
    return max(1, seconds // 60)
