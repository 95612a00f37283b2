"""How errors leave the server: each with an ``extensions.code``, nothing leaked.

Three kinds of error reach a response:

- a ``DataStoreError`` the caller can fix: shown as it is, with its code;
- a request error found before execution (syntax, validation, variables):
  shown as it is, with ``BAD_USER_INPUT``;
- anything else: logged once with its traceback and shown only as
  ``INTERNAL_SERVER_ERROR``.

``ErrorCodes`` rewrites the errors of every result, on every transport;
``DataStoreSchema.process_errors`` does the logging, before the rewrite, so
that the log keeps the original error.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.execution import StreamExecutionResult
from strawberry.types.graphql import OperationType

from models.errors import DataStoreError

logger = logging.getLogger(__name__)

INTERNAL = "INTERNAL_SERVER_ERROR"
BAD_USER_INPUT = "BAD_USER_INPUT"


#: What a request error found before execution may wrap: graphql-core's own
#: error for a variable of the wrong type, a scalar's parse error, or a
#: document nested past Python's recursion limit.
REQUEST_ERROR_CAUSES = (GraphQLError, ValueError, TypeError, RecursionError)


def is_unexpected(error: GraphQLError) -> bool:
    """Tell whether an error is a fault of the server rather than the caller."""
    original = error.original_error
    if isinstance(original, DataStoreError):
        return not original.expected
    # Syntax, validation and variable errors come before execution: no path.
    is_request_error = error.path is None and (
        original is None or isinstance(original, REQUEST_ERROR_CAUSES)
    )
    return not is_request_error


def present(error: GraphQLError) -> GraphQLError:
    """Return the error as the caller may see it."""
    original = error.original_error
    if (error.extensions or {}).get("code"):
        return error
    if isinstance(original, DataStoreError) and original.expected:
        return _with(error, original.message, original.extensions())
    if isinstance(original, RecursionError):
        return _with(error, "the request nests too deeply", {"code": BAD_USER_INPUT})
    if is_unexpected(error):
        return _with(error, "Internal server error", {"code": INTERNAL}, hide=True)
    return _with(error, error.message, {"code": BAD_USER_INPUT})


def _with(
    error: GraphQLError, message: str, extensions: dict[str, Any], *, hide: bool = False
) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=None if hide else error.source,
        positions=error.positions,
        path=error.path,
        original_error=None if hide else error.original_error,
        extensions=extensions,
    )


class ErrorCodes(SchemaExtension):
    """Give every error of a result its code, and mask unexpected errors."""

    def on_operation(self) -> Iterator[None]:
        """Rewrite the errors once the operation has run."""
        yield
        _present_all(self.execution_context.result)

    def on_stream_result(self, result: StreamExecutionResult) -> Iterator[None]:
        """Rewrite the errors of each result a subscription sends."""
        _present_all(result)
        yield


def _present_all(result: object) -> None:
    errors = getattr(result, "errors", None)
    if errors:
        result.errors = [present(error) for error in errors]  # type: ignore[attr-defined]


class DataStoreSchema(strawberry.Schema):
    """Strawberry's schema, logging each unexpected error once with its traceback."""

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """Run a query or a mutation; never a subscription, which only streams.

        Strawberry lets subscriptions through here for its HTTP streaming
        protocols, none of which is served: one would run as a query and fail
        inside. Refused, it raises ``InvalidOperationTypeError``, which the
        HTTP view answers as a request error.
        """
        allowed = set(allowed_operation_types or DEFAULT_ALLOWED_OPERATION_TYPES)
        return await super().execute(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            allowed - {OperationType.SUBSCRIPTION},
            operation_extensions,
        )

    def process_errors(
        self,
        errors: list[GraphQLError],
        execution_context: ExecutionContext | None = None,
    ) -> None:
        """Log the unexpected errors; the caller's own mistakes are not logged."""
        for error in errors:
            if is_unexpected(error):
                cause = error.original_error or error
                logger.error(
                    "Unexpected error in %s: %s",
                    ".".join(map(str, error.path or [])) or "the request",
                    error.message,
                    exc_info=(type(cause), cause, cause.__traceback__),
                )
