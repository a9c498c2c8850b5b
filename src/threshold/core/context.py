"""Who and where a request comes from, parsed once per request."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import cached_property, lru_cache

import iptocc
from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ua_parser import parse as parse_user_agent


@dataclass(frozen=True)
class DeviceSummary:
    browser: str
    os: str
    kind: str  # "desktop", "phone", "tablet", "bot" or "unknown"

    @property
    def label(self) -> str:
        if self.browser and self.os:
            return _("%(browser)s on %(os)s") % {"browser": self.browser, "os": self.os}
        return self.browser or self.os or _("Unknown device")


@lru_cache(maxsize=4096)
def describe_user_agent(user_agent: str) -> DeviceSummary:
    """Browser, OS and kind of device, cached because a parse costs close to a millisecond."""
    if not user_agent:
        return DeviceSummary("", "", "unknown")
    result = parse_user_agent(user_agent[:512])
    browser = result.user_agent.family if result.user_agent else ""
    os_name = result.os.family if result.os else ""
    device = result.device.family if result.device else ""
    if browser == "Other":
        browser = ""
    if os_name == "Other":
        os_name = ""
    lowered = user_agent.lower()
    if device == "Spider" or "bot" in lowered:
        kind = "bot"
    elif "ipad" in lowered or "tablet" in lowered:
        kind = "tablet"
    elif "mobile" in lowered or os_name in {"iOS", "Android"}:
        kind = "phone"
    elif os_name:
        kind = "desktop"
    else:
        kind = "unknown"
    return DeviceSummary(browser, os_name, kind)


def country_for_ip(ip: str) -> str:
    """Two-letter country code for a public address, or "" for private and unknown ones."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ""
    if not address.is_global:
        return ""
    return iptocc.country_code(str(address)) or ""


def client_ip(request: HttpRequest) -> str:
    """The client address.

    SECURITY: X-Forwarded-For is believed only when the direct peer is a configured trusted
    proxy, and then walked from the right past every trusted hop, so a client cannot choose
    the address its throttling and events are recorded under.
    """
    peer = request.META.get("REMOTE_ADDR", "") or ""
    proxies = settings.TRUSTED_PROXIES
    if not proxies or not _is_trusted(peer, proxies):
        return peer
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, proxies):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer
    return hops[0] if hops else peer


def _is_trusted(ip: str, proxies: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in network for network in proxies)


class RequestContext:
    """IP, user agent, country and device of one request; attached as ``request.ctx``."""

    def __init__(self, *, ip: str, user_agent: str) -> None:
        self.ip = ip
        self.user_agent = user_agent[:512]

    @classmethod
    def from_request(cls, request: HttpRequest) -> RequestContext:
        return cls(ip=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", ""))

    @classmethod
    def system(cls) -> RequestContext:
        return cls(ip="", user_agent="")

    @cached_property
    def country(self) -> str:
        return country_for_ip(self.ip)

    @cached_property
    def device(self) -> DeviceSummary:
        return describe_user_agent(self.user_agent)


def context_of(request: HttpRequest | None) -> RequestContext:
    if request is None:
        return RequestContext.system()
    ctx = getattr(request, "ctx", None)
    if ctx is None:
        ctx = RequestContext.from_request(request)
        request.ctx = ctx  # type: ignore[attr-defined]
    return ctx


def country_name(code: str, language: str) -> str:
    """A region's name in ``language`` (``"ES"`` → ``"Spain"``/``"España"``), or the code itself."""
    from phonenumbers.geodata.locale import LOCALE_DATA  # reason: a large table, loaded on first use

    names = LOCALE_DATA.get(code.upper(), {})
    name = names.get(language.split("-")[0].lower(), "") or names.get("en", "")
    if name.startswith("*"):  # a pointer to another language's entry
        name = names.get(name[1:], "")
    return name or code.upper()
