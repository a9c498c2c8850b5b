"""``threshold issue_access_pass EMAIL [--minutes N] [--reusable]``: a Temporary Access Pass, printed once."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from threshold.accounts.selectors import user_by_email
from threshold.core.errors import PolicyDenied
from threshold.recovery.services.access_pass import AccessPassNotIssued, issue_access_pass


class Command(BaseCommand):
    help = (
        "Issue a Temporary Access Pass that lets the account's owner sign in and set up new sign-in "
        "methods. Any earlier pass of the account stops working. The pass is printed once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument(
            "--minutes",
            type=int,
            default=None,
            help=f"How long it works (default {settings.ACCESS_PASS_MINUTES}, "
            f"{settings.ACCESS_PASS_MINUTES_BOUNDS[0]} to {settings.ACCESS_PASS_MINUTES_BOUNDS[1]}).",
        )
        parser.add_argument(
            "--reusable",
            action="store_true",
            help="Works any number of times until it expires (default: once).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = user_by_email(options["email"])
        if user is None:
            raise CommandError(f"No account has the email address {options['email']}.")
        try:
            access_pass, plain = issue_access_pass(
                user=user,
                issued_by=None,
                request=None,
                minutes=options["minutes"],
                one_time=not options["reusable"],
            )
        except AccessPassNotIssued as exc:
            raise CommandError(exc.message) from exc
        except PolicyDenied as exc:
            raise CommandError(
                exc.decision.message or "A policy does not allow a pass for this account."
            ) from exc
        until = access_pass.expires_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        uses = "any number of times" if not access_pass.one_time else "once"
        self.stdout.write(f"Temporary Access Pass for {user.email} (shown only now): {plain}")
        self.stdout.write(
            f"It works {uses}, until {until}, at {settings.BASE_URL}{reverse('access_pass_sign_in')}"
        )
        self.stdout.write(f"Pass id (for revoking it in /staff/): {access_pass.public_id}")
        if user.is_locked:
            self.stderr.write(
                "This account is locked: the pass will not sign in until the owner unlocks it "
                "with a password reset by email."
            )
        self.stdout.write("The account's owner was told by email that a pass was issued.")
