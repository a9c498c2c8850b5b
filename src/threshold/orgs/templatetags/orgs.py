"""Template helpers that draw an organisation's locks and sign-in branding."""

from __future__ import annotations

from typing import Any

from django import template

from threshold.orgs import policies, selectors
from threshold.orgs.policies import Action

register = template.Library()


@register.simple_tag(takes_context=True)
def lock(context: dict[str, Any], action: str) -> Any:
    """The decision for ``action`` (an ``Action`` name, such as ``PHOTO_CHANGE``), to draw its lock."""
    request = context.get("request")
    user = getattr(request, "user", None)
    return policies.evaluate(user, Action[action])


@register.simple_tag(takes_context=True)
def sign_in_branding(context: dict[str, Any], form: Any = None) -> Any:
    """The branding for the email typed into the sign-in form, or in ``?login_hint=``.

    A hint may be a whole address or just ``@contoso.com``, so an organisation can link
    its people to a branded sign-in page.
    """
    typed = ""
    if form is not None and "login" in getattr(form, "fields", {}):
        typed = str(form["login"].value() or "")
    request = context.get("request")
    if not typed and request is not None:
        typed = str(request.GET.get("login_hint", ""))[:254]
    return selectors.branding_for_email(typed)
