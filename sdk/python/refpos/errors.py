"""The exceptions of the refpos package: one class per refpos_status.

Every call that does not return REFPOS_OK raises a subclass of RefposError
chosen by the status (``refpos.h``'s ``refpos_status``; numbers never change
and are never reused, so the table below only grows at the end). A status
this package does not know yet (a newer plugin) raises RefposError itself.

The fields come from what the plugin gave: ``message`` is ``last_error()``
(or the error document's message when there is no handle, e.g. at open),
``field`` and ``reason`` come from the error document
``{"error": {"status", "code", "field", "message", "reason"}}``, and
``answer`` is the whole parsed document: for a rejected preview that is the
preview answer with ``code.status == "rejected"`` and an ``error`` member.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Type

__all__ = [
    "STATUS_NAMES",
    "status_name",
    "RefposError",
    "InvalidArgument",
    "BadRequest",
    "CodeRejected",
    "NotFound",
    "Conflict",
    "StorageError",
    "VersionError",
    "ConfigError",
    "BadHandle",
    "RateLimited",
    "InternalError",
    "LoadError",
    "error_for_status",
]

# Indexed by refpos_status; the names are refpos.h's without REFPOS_E_, as
# refpos-terminal's scripts spell them ("expect": "CODE_REJECTED").
STATUS_NAMES = (
    "OK",
    "INVALID_ARGUMENT",
    "BAD_REQUEST",
    "CODE_REJECTED",
    "NOT_FOUND",
    "CONFLICT",
    "STORAGE",
    "VERSION",
    "CONFIG",
    "BAD_HANDLE",
    "RATE_LIMITED",
    "INTERNAL",
)


def status_name(status: int) -> str:
    """refpos.h's name of ``status`` without ``REFPOS_E_``, e.g. ``"CONFLICT"``."""
    if 0 <= status < len(STATUS_NAMES):
        return STATUS_NAMES[status]
    return "STATUS_%d" % status


class RefposError(Exception):
    """A refpos call returned a status other than REFPOS_OK."""

    status: int
    status_name: str
    message: str
    field: str
    reason: str
    answer: Optional[Dict[str, Any]]

    def __init__(
        self,
        status: int,
        message: str,
        *,
        field: str = "",
        reason: str = "",
        answer: Optional[Dict[str, Any]] = None,
    ) -> None:
        self.status = status
        self.status_name = status_name(status)
        self.message = message
        self.field = field
        self.reason = reason
        self.answer = answer
        super().__init__(status, message)

    def __str__(self) -> str:
        if self.message:
            return "%s: %s" % (self.status_name, self.message)
        return self.status_name

    def __repr__(self) -> str:
        return "%s(status=%d, message=%r, field=%r, reason=%r)" % (
            type(self).__name__,
            self.status,
            self.message,
            self.field,
            self.reason,
        )


class InvalidArgument(RefposError):
    """REFPOS_E_INVALID_ARGUMENT (1): a NULL handle or out-parameter."""


class BadRequest(RefposError):
    """REFPOS_E_BAD_REQUEST (2): not JSON, not UTF-8, or a field is wrong."""


class CodeRejected(RefposError):
    """REFPOS_E_CODE_REJECTED (3): the code cannot be used; ``reason`` says why."""


class NotFound(RefposError):
    """REFPOS_E_NOT_FOUND (4): no such transaction or customer."""


class Conflict(RefposError):
    """REFPOS_E_CONFLICT (5): the id was already used with other content."""


class StorageError(RefposError):
    """REFPOS_E_STORAGE (6): the local store failed; nothing was written."""


class VersionError(RefposError):
    """REFPOS_E_VERSION (7): the plugin does not provide the ABI asked for."""


class ConfigError(RefposError):
    """REFPOS_E_CONFIG (8): the store configuration is invalid (open only)."""


class BadHandle(RefposError):
    """REFPOS_E_BAD_HANDLE (9): the store is closed (raised before the plugin
    is called: a closed handle is never passed to the plugin)."""


class RateLimited(RefposError):
    """REFPOS_E_RATE_LIMITED (10): too many failed code attempts; wait."""


class InternalError(RefposError):
    """REFPOS_E_INTERNAL (11): a bug in the plugin."""


class LoadError(OSError):
    """The plugin library could not be loaded, is not a refpos plugin, or its
    function table is unusable. Not a RefposError: there is no status."""


_CLASS_BY_STATUS: Dict[int, Type[RefposError]] = {
    1: InvalidArgument,
    2: BadRequest,
    3: CodeRejected,
    4: NotFound,
    5: Conflict,
    6: StorageError,
    7: VersionError,
    8: ConfigError,
    9: BadHandle,
    10: RateLimited,
    11: InternalError,
}


def error_for_status(
    status: int,
    message: str,
    *,
    field: str = "",
    reason: str = "",
    answer: Optional[Dict[str, Any]] = None,
) -> RefposError:
    """The exception for ``status`` (RefposError itself for an unknown one)."""
    cls = _CLASS_BY_STATUS.get(status, RefposError)
    return cls(status, message, field=field, reason=reason, answer=answer)
