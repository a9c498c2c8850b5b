"""``threshold createadmin EMAIL``: the first staff account, with a one-time password."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from threshold.accounts.services import create_admin


class Command(BaseCommand):
    help = "Create a staff account and print a one-time password that must be changed at first sign-in."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user, password = create_admin(email=options["email"])
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(f"Created staff account {user.email}.")
        self.stdout.write(
            f"One-time password (shown only now; you will choose your own at first sign-in): {password}"
        )
        self.stdout.write(
            "The staff admin (/staff/) opens once you add a passkey or security key on Security info "
            "and sign in with it."
        )
