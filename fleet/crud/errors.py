"""The few ways a CRUD call refuses; the API maps each family to one HTTP status."""

from __future__ import annotations

__all__ = ["Conflict", "CrudError", "Invalid", "NotFound", "Refused", "WeakPassword"]


class CrudError(Exception):
    """Base: the message is meant for the caller and never holds a secret."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.reason: str | None = None  # a stable code for programs, where there is one


class NotFound(CrudError):
    """No such object (or not visible to this caller)."""


class Conflict(CrudError):
    """The change contradicts the current state (duplicate id, already revoked, ...)."""


class Invalid(CrudError):
    """The request is well-formed but names things that do not fit together."""


class Refused(CrudError):
    """A credential (claim code, enrollment token) is unknown, used or expired."""


class WeakPassword(Invalid):
    """A new password the policy refuses (fleet/core/passwords.py); ``reason`` is its code."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason
