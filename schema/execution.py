"""How operations are executed: Strawberry's executor, tuned for fan-out.

A change to a document heard by a thousand subscribers reaches each of them
as one subscription event. The executor here keeps that cheap:

- each event's copy of the executor keeps its caches to itself. graphql-core
  3.3 shares one subfield cache among a subscription's per-event copies, keyed
  by a list made afresh for each event, so a subscription kept every event's
  entry until it ended: memory grew with each event, and the garbage
  collector's full passes, walking all of it, stalled the server;
- an event payload that offers ``shared_results`` (one object handed to every
  subscriber of a change) is executed once per operation and variables, and
  that result serves every subscriber asking the same.
"""

from __future__ import annotations

from typing import Any, cast

from graphql import ExecutionResult, OperationType
from graphql.execution import Executor
from graphql.pyutils import RefMap
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext


class FanOutExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor with per-event caches and results shared per event."""

    _shared_key: tuple[int, str] | None = None

    def build_per_event_executor(self, payload: Any) -> Executor[Any]:
        """Copy the executor for one event, or reuse the event's result if shared."""
        shared = getattr(payload, "shared_results", None)
        if shared is not None:
            found = shared.get(self._key())
            if found is not None:
                return cast("Executor[Any]", _Executed(found[1]))
        executor = super().build_per_event_executor(payload)
        executor._relevant_sub_fields = {}
        executor._stream_usages = RefMap()
        return executor

    def execute_operation(self, serially: bool | None = None) -> Any:
        """Execute; keep the result with the event when it is shared."""
        result = super().execute_operation(serially)
        shared = getattr(self.root_value, "shared_results", None)
        if (
            shared is not None
            and self.operation.operation is OperationType.SUBSCRIPTION
            and isinstance(result, ExecutionResult)
            and not result.errors
        ):
            # The operation node is kept with the result so that its id, in
            # the key, cannot be reused while the entry lives.
            shared[self._key()] = (self.operation, result)
        return result

    def _key(self) -> tuple[int, str]:
        """What a subscription's results depend on besides the event."""
        if self._shared_key is None:
            # Worked out once per subscription, since each event's executor is
            # a copy. The operation's text is parsed once and cached, so its
            # node is the same object for every subscriber sending that text.
            variables = sorted(self.variable_values.coerced.items())
            self._shared_key = (id(self.operation), repr(variables))
        return self._shared_key


class _Executed:
    """Stands for an event's executor when the event's result is already known."""

    def __init__(self, result: ExecutionResult) -> None:
        self.result = result

    def execute_operation(self, serially: bool | None = None) -> ExecutionResult:
        """The known result."""
        return self.result
