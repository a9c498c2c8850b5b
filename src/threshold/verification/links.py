"""A link in a mail that carries a token: into the session, out of the address, used by a POST.

Every such link works the same way. The GET of ``/…/<token>/`` keeps the token in this
browser's (server-side) session under a *purpose* and redirects to a clean address; that
page shows one button; its POST uses the token up. The purpose keeps the tokens of two
flows apart: a password-reset token never reaches the page that cancels a recovery.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

# SECURITY: a token is short (a few dozen characters); a longer "token" is never valid, and
# cutting it keeps whatever an address carries from growing the session without bound.
LINK_TOKEN_MAX_LENGTH = 128
_SESSION_PREFIX = "threshold.link."


def _session_key(purpose: str) -> str:
    return _SESSION_PREFIX + purpose


def stash_link_token(request: HttpRequest, purpose: str, token: str, *, to: str) -> HttpResponseRedirect:
    """Keep ``token`` in the session for ``purpose`` and redirect to ``to`` (a URL name), without it.

    SECURITY: the token leaves the address at once, so it is not left in the browser's
    history, in a Referer header or in a screenshot. Opening the link changes nothing: mail
    scanners and link previews follow every link, so using the token needs a POST from the
    page at ``to``, which only a person sends.
    """
    request.session[_session_key(purpose)] = str(token)[:LINK_TOKEN_MAX_LENGTH]
    return redirect(to)


def link_token(request: HttpRequest, purpose: str) -> str:
    """The token this browser brought for ``purpose``, or "" if it brought none."""
    token = request.session.get(_session_key(purpose))
    return token if isinstance(token, str) else ""


def consume_link_token(request: HttpRequest, purpose: str) -> str:
    """Take the token for ``purpose`` out of the session (it can be used once) and return it, or ""."""
    token = request.session.pop(_session_key(purpose), None)
    return token if isinstance(token, str) else ""


def forget_link_token(request: HttpRequest, purpose: str) -> None:
    """Drop the token for ``purpose``, if this browser brought one."""
    request.session.pop(_session_key(purpose), None)


def link_page(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Never cached, and never telling another site where the person came from.

    SECURITY: ``Referrer-Policy: no-referrer`` on the link and on the page it leads to, so
    that no address of it (even one that carried a secret before it was taken out) reaches
    a linked site, an image host or an analytics script.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        response["Referrer-Policy"] = "no-referrer"
        return response

    return never_cache(wrapper)


def link_landing(purpose: str, *, to: str) -> Callable[..., HttpResponseBase]:
    """The view for ``/…/<token>/``: the token goes into the session, the browser goes to ``to``."""

    @link_page
    @require_GET
    def landing(request: HttpRequest, token: str) -> HttpResponse:
        return stash_link_token(request, purpose, token, to=to)

    return landing
