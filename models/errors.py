"""The one exception tree of the data store.

Every error a caller can see is a leaf of ``DataStoreError`` and carries the
GraphQL error code it is reported under (``extensions.code``)::

    DataStoreError
    ├── Unauthenticated        UNAUTHENTICATED
    ├── Forbidden              FORBIDDEN
    ├── NotFound               NOT_FOUND
    ├── BadUserInput           BAD_USER_INPUT
    ├── PayloadTooLarge        PAYLOAD_TOO_LARGE
    ├── RevisionConflict       REVISION_CONFLICT   (+ currentRevision)
    ├── RateLimited            RATE_LIMITED        (+ retryAfterMs)
    ├── AppSuspended           APP_SUSPENDED
    ├── AddonRequired          ADDON_REQUIRED
    ├── SessionEnded           SESSION_ENDED
    └── StorageError           INTERNAL_SERVER_ERROR (unexpected: logged, masked)

Database driver and ORM errors never leave ``models``: they are translated into
``StorageError`` at the boundary (see ``models.database.storage_errors``).
"""

from __future__ import annotations

from typing import Any, ClassVar


class DataStoreError(Exception):
    """Root of every error the data store reports to a caller."""

    code: ClassVar[str] = "INTERNAL_SERVER_ERROR"
    # Expected errors are the caller's to fix; they are reported as they are
    # and not logged. Unexpected ones are logged with their traceback.
    expected: ClassVar[bool] = True

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def extensions(self) -> dict[str, Any]:
        """Return the ``extensions`` object of the GraphQL error."""
        return {"code": self.code}


class Unauthenticated(DataStoreError):
    """The caller's credentials are missing, malformed, expired or unknown."""

    code = "UNAUTHENTICATED"


class Forbidden(DataStoreError):
    """The caller is known but may not do this to this target."""

    code = "FORBIDDEN"


class NotFound(DataStoreError):
    """The named room, session or application does not exist (any more)."""

    code = "NOT_FOUND"


class BadUserInput(DataStoreError):
    """An argument breaks a rule or a limit; nothing was written."""

    code = "BAD_USER_INPUT"


class PayloadTooLarge(DataStoreError):
    """A document or request body is over its size limit; nothing was written."""

    code = "PAYLOAD_TOO_LARGE"


class RevisionConflict(DataStoreError):
    """The document's revision no longer matches the write's ``ifRevision``."""

    code = "REVISION_CONFLICT"

    def __init__(self, message: str, current_revision: int) -> None:
        super().__init__(message)
        self.current_revision = current_revision

    def extensions(self) -> dict[str, Any]:
        """Return the code and the document's current revision."""
        return {"code": self.code, "currentRevision": self.current_revision}


class RateLimited(DataStoreError):
    """The caller sent more than it may; it may retry after a delay."""

    code = "RATE_LIMITED"

    def __init__(self, message: str, retry_after_ms: int) -> None:
        super().__init__(message)
        self.retry_after_ms = retry_after_ms

    def extensions(self) -> dict[str, Any]:
        """Return the code and how long to wait before retrying."""
        return {"code": self.code, "retryAfterMs": self.retry_after_ms}


class AppSuspended(DataStoreError):
    """The application is suspended; none of its calls are served."""

    code = "APP_SUSPENDED"


class AddonRequired(DataStoreError):
    """The application's plan lacks the data store add-on."""

    code = "ADDON_REQUIRED"


class SessionEnded(DataStoreError):
    """The session the caller names or belongs to has ended."""

    code = "SESSION_ENDED"


class StorageError(DataStoreError):
    """The database failed in a way the caller cannot fix."""

    expected = False
