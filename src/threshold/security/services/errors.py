"""The refusal every security service raises when it does not make a change."""

from __future__ import annotations


class Refused(Exception):
    """The change was not made; ``message`` tells the person why and what to do."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
