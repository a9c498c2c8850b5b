"""A sign-in method used to sign in: its last use and a passkey's signature counter."""

from __future__ import annotations

from allauth.mfa.models import Authenticator
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from threshold.activity.models import Result
from threshold.activity.services import record_event
from threshold.core.errors import Refused
from threshold.security.models import MethodKind, SignInMethod


def note_authenticator_used(*, authenticator: Authenticator) -> None:
    SignInMethod.objects.filter(authenticator=authenticator).update(last_used_at=timezone.now())


def check_passkey_counter(*, request: HttpRequest | None, authenticator: Authenticator, counter: int) -> None:
    """Accept a passkey's signature counter only if it moved forward; keep the new value.

    SECURITY: an authenticator with a counter adds one for every signature. A value at or
    below the last one seen means two copies of the same key exist (a cloned security
    key) or an old answer is replayed, so the sign-in is refused and recorded. Passkeys
    that keep no counter (most synced ones) always report zero, and stay accepted. The
    conditional UPDATE makes two simultaneous uses of one value yield one success.
    """
    method = SignInMethod.objects.filter(authenticator=authenticator).first()
    if method is None:
        return
    if counter == 0 and method.sign_count == 0:
        return
    if SignInMethod.objects.filter(pk=method.pk, sign_count__lt=counter).update(sign_count=counter):
        return
    record_event(
        "account:passkey:counter_backwards",
        user=method.user,
        request=request,
        method=MethodKind.PASSKEY,
        result=Result.BLOCKED,
        details={
            "name": method.name,
            "method": str(method.public_id),
            "seen": method.sign_count,
            "sent": counter,
        },
    )
    raise Refused(
        _(
            "This passkey was refused: its signature counter went backwards, which can mean it was copied. "
            "Sign in another way, then check your passkeys on Security info."
        ),
        code="sign_count",
    )
