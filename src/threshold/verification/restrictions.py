"""One registry of the restrictions that confine a session to a few pages.

Each app registers its restrictions in its ``AppConfig.ready``; ``SessionRestrictionMiddleware``
(``verification.middleware``) serves them in ``ORDER``. A restriction names, by URL name, the pages
it leaves open: ``open_pages`` opens the page of each name (its path, or any page of that name
whatever its arguments),
``open_below`` opens the path of each name and every page beneath it. The portal's assets
(``STATIC_URL``) stay open under every restriction.

How they compose: in ``ORDER``, the first restriction that applies to this session and does not
leave this page open sends the person to its page. A restriction also leaves open the page of
every restriction before it that applies, so a person held by two is walked through them in order
(first the earlier one's page, then the later one's) rather than sent round in circles.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import NoReverseMatch, Resolver404, resolve, reverse

# The fixed order in which restrictions are served; a name missing here cannot be registered.
ORDER = (
    # recovery: a session signed in with a Temporary Access Pass that expired or was revoked ends.
    "access_pass_ended",
    # accounts: an account whose password someone else chose changes it first.
    "must_change_password",
    # recovery: an account marked for closure can be reopened, and nothing else.
    "account_closing",
    # recovery: a session signed in with a Temporary Access Pass only sets up sign-in methods.
    "access_pass",
    # orgs: sign-in methods the organisation requires (or asked for again after an admin's reset).
    "required_set_up",
)


@dataclass(frozen=True)
class Restriction:
    """A confinement of a session: when ``applies(request)``, every page not left open leads to ``page``."""

    name: str
    applies: Callable[[HttpRequest], bool]
    # URL name of the page the person is sent to (and that stays open to later restrictions).
    page: str
    open_pages: frozenset[str] = frozenset()
    open_below: tuple[str, ...] = ()
    # How the person is sent there, when more than a redirect to ``page`` (a sign-out, a message).
    send: Callable[[HttpRequest], HttpResponse] | None = field(default=None, compare=False)

    @cached_property
    def _prefixes(self) -> tuple[str, ...]:
        return tuple(reverse(name) for name in self.open_below)

    @cached_property
    def _paths(self) -> frozenset[str]:
        paths = set()
        for name in self.open_pages:
            # A page with arguments is matched by its name alone.
            with contextlib.suppress(NoReverseMatch):
                paths.add(reverse(name))
        return frozenset(paths)

    @cached_property
    def page_path(self) -> str:
        return reverse(self.page)

    def leaves_open(self, path: str, url_name: Callable[[], str | None]) -> bool:
        if path.startswith(self._prefixes) or path in self._paths:
            return True
        return bool(self.open_pages) and url_name() in self.open_pages

    def send_away(self, request: HttpRequest) -> HttpResponse:
        return self.send(request) if self.send is not None else redirect(self.page)


_registry: dict[str, Restriction] = {}


def register_restriction(restriction: Restriction) -> None:
    """Adds a restriction; its name must be in ``ORDER`` and registered once."""
    if restriction.name not in ORDER:
        raise ValueError(f"Session restriction {restriction.name!r} has no place in restrictions.ORDER.")
    if restriction.name in _registry:
        raise ValueError(f"Session restriction {restriction.name!r} is registered twice.")
    _registry[restriction.name] = restriction


def restrictions() -> list[Restriction]:
    """The registered restrictions, in ``ORDER``."""
    return [_registry[name] for name in ORDER if name in _registry]


class _UrlName:
    """The request's URL name, resolved on first use (most sessions never need it)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.resolved = False
        self.name: str | None = None

    def __call__(self) -> str | None:
        if not self.resolved:
            try:
                self.name = resolve(self.path).url_name
            except Resolver404:
                self.name = None
            self.resolved = True
        return self.name


def response_for(request: HttpRequest) -> HttpResponse | None:
    """Where a restriction sends this request, or None when none holds it back."""
    path = request.path_info
    if path.startswith(str(settings.STATIC_URL)):
        return None
    url_name = _UrlName(path)
    on_earlier_page = False
    served = restrictions()
    for index, restriction in enumerate(served, start=1):
        if restriction.leaves_open(path, url_name):
            if not on_earlier_page and index < len(served) and path == restriction.page_path:
                on_earlier_page = restriction.applies(request)
            continue
        if on_earlier_page:
            continue
        if restriction.applies(request):
            return restriction.send_away(request)
    return None
