from django import template

from threshold.security import totp

register = template.Library()


@register.filter
def grouped(secret: str) -> str:
    """An authenticator secret in groups of four characters."""
    return totp.grouped(str(secret))
