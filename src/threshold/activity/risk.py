"""Unfamiliar sign-in detection: every rule and every threshold, in this one module.

Each successful sign-in is compared with the account's own history before its event is
written (events are append-only, so the verdict must exist first). A rule that fires gives a
``Reason``; the reasons' weights add up to a score, and a score of ``UNFAMILIAR_SCORE`` or
more makes the sign-in unfamiliar: the person is emailed at once and the activity page
flags it with the reasons in words.

The history is the account's own successful sign-ins. SECURITY: a sign-in the person
reported as "This wasn't me" is left out of it, so an intruder's device and country never
become familiar by being used.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any

from threshold.activity import selectors
from threshold.activity.types import PastSignIn, Reason, Rule
from threshold.core.context import DeviceSummary, RequestContext, describe_user_agent

# --- Thresholds --------------------------------------------------------------------------------

# Faster than an airliner, including the trip to and from the airport.
MAX_TRAVEL_SPEED_KMH = 1000
# Country centres are coarse: two places a short drive apart can be in countries whose centres
# are hundreds of kilometres apart. So countries sharing a land border never count, nor do
# shorter hops than this (the person's provider may have moved their address, too).
MIN_TRAVEL_DISTANCE_KM = 500
FAILURES_BEFORE_SUCCESS = 3
FAILURE_WINDOW = timedelta(hours=1)
# How many of the account's most recent successful sign-ins a new one is compared with.
HISTORY_SIGN_INS = 500
UNFAMILIAR_SCORE = 1
EARTH_RADIUS_KM = 6371.0


WEIGHTS: dict[Rule, int] = {
    Rule.NEW_DEVICE: 1,
    Rule.NEW_COUNTRY: 1,
    Rule.IMPOSSIBLE_TRAVEL: 2,
    Rule.SUCCESS_AFTER_FAILURES: 1,
}


# --- What the rules look at ----------------------------------------------------------------------


@dataclass(frozen=True)
class History:
    """The account's successful sign-ins, newest first, and its failures since the last one."""

    sign_ins: Sequence[PastSignIn] = ()
    recent_failures: int = 0


@dataclass(frozen=True)
class Attempt:
    occurred_at: datetime
    user_agent: str
    country: str

    @classmethod
    def from_context(cls, context: RequestContext, occurred_at: datetime) -> Attempt:
        return cls(occurred_at=occurred_at, user_agent=context.user_agent, country=context.country)

    @property
    def device(self) -> DeviceSummary:
        return describe_user_agent(self.user_agent)


@dataclass(frozen=True)
class Assessment:
    reasons: tuple[Reason, ...] = ()

    @property
    def score(self) -> int:
        return sum(WEIGHTS[reason.rule] for reason in self.reasons)

    @property
    def unfamiliar(self) -> bool:
        return self.score >= UNFAMILIAR_SCORE

    def reasons_json(self) -> list[dict[str, Any]]:
        return [reason.as_json() for reason in self.reasons]


# --- The rules ------------------------------------------------------------------------------------


def _device_key(device: DeviceSummary) -> tuple[str, str]:
    # The browser family and OS family, not their versions: an update is the same device.
    return (device.browser, device.os)


def new_device(attempt: Attempt, history: History) -> Reason | None:
    """A browser and OS pair this account has never signed in with."""
    if not history.sign_ins:
        return None  # the first sign-in of an account has nothing to compare with
    seen = {_device_key(past.device) for past in history.sign_ins}
    if _device_key(attempt.device) in seen:
        return None
    return Reason(Rule.NEW_DEVICE, {"device": attempt.device.label})


def new_country(attempt: Attempt, history: History) -> Reason | None:
    """A country this account has never signed in from (unknown addresses never count)."""
    if not history.sign_ins or not attempt.country:
        return None
    if attempt.country in {past.country for past in history.sign_ins}:
        return None
    return Reason(Rule.NEW_COUNTRY, {"country": attempt.country})


def impossible_travel(attempt: Attempt, history: History) -> Reason | None:
    """Farther from the previous sign-in's country than anyone could have travelled since."""
    if not attempt.country:
        return None
    previous = next((past for past in history.sign_ins if past.country), None)
    if previous is None or previous.country == attempt.country:
        return None
    if attempt.country in neighbours(previous.country):
        return None
    km = distance_km(previous.country, attempt.country)
    if km is None or km < MIN_TRAVEL_DISTANCE_KM:
        return None
    hours = (attempt.occurred_at - previous.occurred_at).total_seconds() / 3600
    if hours > 0 and km / hours <= MAX_TRAVEL_SPEED_KMH:
        return None
    return Reason(
        Rule.IMPOSSIBLE_TRAVEL,
        {
            "from": previous.country,
            "to": attempt.country,
            "km": round(km),
            "minutes": max(0, round(hours * 60)),
        },
    )


def success_after_failures(attempt: Attempt, history: History) -> Reason | None:
    """Several failed attempts on the account shortly before this success: a guess that worked?"""
    if history.recent_failures < FAILURES_BEFORE_SUCCESS:
        return None
    return Reason(Rule.SUCCESS_AFTER_FAILURES, {"failures": history.recent_failures})


RULES: tuple[Callable[[Attempt, History], Reason | None], ...] = (
    new_device,
    new_country,
    impossible_travel,
    success_after_failures,
)


def assess(attempt: Attempt, history: History) -> Assessment:
    """Every rule over one attempt and its history; no database."""
    reasons = tuple(reason for rule in RULES if (reason := rule(attempt, history)) is not None)
    return Assessment(reasons)


def assess_sign_in(*, user: Any, context: RequestContext, occurred_at: datetime) -> Assessment:
    """Score a successful sign-in of ``user`` against the account's history."""
    sign_ins = selectors.sign_in_history(user, limit=HISTORY_SIGN_INS)
    since = occurred_at - FAILURE_WINDOW
    if sign_ins and sign_ins[0].occurred_at > since:
        since = sign_ins[0].occurred_at  # failures already followed by a success are settled
    failures = selectors.failed_sign_ins_since(user, since=since, limit=FAILURES_BEFORE_SUCCESS * 10)
    history = History(sign_ins=sign_ins, recent_failures=failures)
    return assess(Attempt.from_context(context, occurred_at), history)


# --- Geography --------------------------------------------------------------------------------------


@cache
def _countries() -> dict[str, tuple[float, float, frozenset[str]]]:
    # data/country_centroids.csv, made by scripts/country-data from the countryinfo package.
    path = resources.files("threshold.activity") / "data" / "country_centroids.csv"
    with path.open(encoding="utf-8") as handle:
        return {
            row["code"]: (
                float(row["latitude"]),
                float(row["longitude"]),
                frozenset(row["neighbours"].split()),
            )
            for row in csv.DictReader(handle)
        }


def centroids() -> dict[str, tuple[float, float]]:
    """Approximate centre (latitude, longitude) of each ISO 3166-1 country."""
    return {code: (lat, lon) for code, (lat, lon, _n) in _countries().items()}


def neighbours(code: str) -> frozenset[str]:
    """The countries sharing a land border with ``code``."""
    country = _countries().get(code)
    return country[2] if country is not None else frozenset()


def distance_km(a: str, b: str) -> float | None:
    """Great-circle distance between two countries' centres; None when either is unknown."""
    countries = _countries()
    if a not in countries or b not in countries:
        return None
    (lat1, lon1, _a), (lat2, lon2, _b) = countries[a], countries[b]
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = math.radians(lat2 - lat1), math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))
