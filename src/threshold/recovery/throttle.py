"""Limits on account recovery, shared by every app process through the cache.

SECURITY: every key is made from what the person typed (the account's email, the address
or number to prove, the contact address) and the client address, never from whether an
account has them, so an unknown account is limited exactly like a known one and the
limits tell nothing. Fixed windows (``accounts.throttle.take``): a use is counted before
it is compared, so parallel requests cannot slip under a limit.
"""

from __future__ import annotations

from threshold.accounts.throttle import digest, take

HOUR = 3600
DAY = 24 * HOUR

# Codes sent to prove an address or number of the account.
SEND_PER_TARGET = [(1, 30), (5, HOUR)]
SEND_PER_ACCOUNT = [(10, HOUR), (20, DAY)]
SEND_PER_ADDRESS = [(20, HOUR), (50, DAY)]
# Codes entered: 5 tries per code target, and fewer overall than anyone needs to guess one.
TRIES_PER_TARGET = 5
TRIES_PER_ACCOUNT = [(15, HOUR), (30, DAY)]
TRIES_PER_ADDRESS = [(50, HOUR), (200, DAY)]
# Requests for review: each costs an operator's time.
REQUESTS_PER_CONTACT = [(3, HOUR), (5, DAY)]
REQUESTS_PER_ADDRESS = [(10, HOUR), (20, DAY)]


def _keys(prefix: str, value: str, limits: list[tuple[int, int]]) -> list[tuple[str, int, int]]:
    return [(f"recovery:{prefix}:{digest(value)}", count, window) for count, window in limits]


def send_wait(*, account: str, target: str, ip: str) -> int:
    """Count one code sent; 0 if it may go, else the seconds to wait."""
    return take(
        _keys("send:target", target, SEND_PER_TARGET)
        + _keys("send:account", account, SEND_PER_ACCOUNT)
        + _keys("send:ip", ip or "none", SEND_PER_ADDRESS)
    )


def try_wait(*, purpose: str, account: str, target: str, ip: str) -> int:
    """Count one code entered; 0 if it may be checked, else the seconds to wait."""
    return take(
        _keys(f"try:{purpose}", f"{account}\n{target}", [(TRIES_PER_TARGET, HOUR)])
        + _keys("try:account", account, TRIES_PER_ACCOUNT)
        + _keys("try:ip", ip or "none", TRIES_PER_ADDRESS)
    )


def request_wait(*, contact: str, ip: str) -> int:
    """Count one request for review (its contact code sent); 0 if it may go."""
    return take(
        _keys("request:contact", contact, REQUESTS_PER_CONTACT)
        + _keys("request:ip", ip or "none", REQUESTS_PER_ADDRESS)
    )
