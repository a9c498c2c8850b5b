"""Devices, addresses and sign-ins for the activity tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.conftest import PASSWORD
from threshold.activity.models import Result, SecurityEvent
from threshold.activity.services import record_event
from threshold.core.context import RequestContext

WINDOWS_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
WINDOWS_CHROME_NEWER = WINDOWS_CHROME.replace("Chrome/131.0.0.0", "Chrome/133.0.0.0")
IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
MAC_FIREFOX = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.6; rv:133.0) Gecko/20100101 Firefox/133.0"

GB = "81.2.69.160"
US = "8.8.8.8"
SE = "89.160.20.112"
BR = "200.160.2.3"


def sign_in(
    client: Any, user: Any, *, ip: str = GB, agent: str = WINDOWS_CHROME, password: str = PASSWORD
) -> Any:
    """Sign in through the real form, from ``ip`` with ``agent``; returns the response."""
    return client.post(
        "/accounts/login/",
        {"login": user.email, "password": password},
        REMOTE_ADDR=ip,
        HTTP_USER_AGENT=agent,
    )


def past_sign_in(
    user: Any,
    *,
    at: datetime,
    ip: str = GB,
    agent: str = WINDOWS_CHROME,
    code: str = "account:signin:success",
    result: Result = Result.SUCCESS,
) -> SecurityEvent:
    """A sign-in event recorded at a chosen time, as history for the risk rules."""
    return record_event(
        code,
        user=user,
        context=RequestContext(ip=ip, user_agent=agent),
        method="password",
        result=result,
        occurred_at=at,
    )


def latest_sign_in(user: Any) -> SecurityEvent:
    return SecurityEvent.objects.filter(user=user, code="account:signin:success").latest("occurred_at", "id")
