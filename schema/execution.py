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
  that result serves every subscriber asking the same;
- a subscription's resolver can get ``event_renderer()``: its own operation's
  response to an event as JSON text, computed without waiting, so that the
  event can be sent from wherever it arises.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, cast

from graphql import (
    ExecutionResult,
    FieldNode,
    GraphQLField,
    GraphQLObjectType,
    GraphQLResolveInfo,
    OperationType,
)
from graphql.execution import Executor
from graphql.pyutils import Path, RefMap
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from schema.json_text import json_text

# A subscription's response to one event payload, as JSON; None when it has
# errors or cannot be computed without waiting (the event then goes the
# usual way, through Strawberry).
EventRenderer = Callable[[Any], str | None]

# The executor of the subscription whose resolver is starting, in its task.
_starting: ContextVar[FanOutExecutor | None] = ContextVar("starting", default=None)


def event_renderer() -> EventRenderer | None:
    """The renderer of the subscription whose resolver calls this, once."""
    executor = _starting.get()
    _starting.set(None)
    return None if executor is None else executor.render_event


class FanOutExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor with per-event caches and results shared per event."""

    _shared_key: tuple[int, str] | None = None
    _per_event = False

    def build_resolve_info(
        self,
        field_def: GraphQLField,
        field_nodes: list[FieldNode],
        parent_type: GraphQLObjectType,
        path: Path,
    ) -> GraphQLResolveInfo:
        """Build a resolver's info; note a subscription that is starting."""
        if (
            not self._per_event
            and parent_type is self.schema.subscription_type
            and self.operation.operation is OperationType.SUBSCRIPTION
        ):
            # Its resolver runs next, in this task (see event_renderer).
            _starting.set(self)
        return super().build_resolve_info(field_def, field_nodes, parent_type, path)

    def build_per_event_executor(self, payload: Any) -> Executor[Any]:
        """Copy the executor for one event, or reuse the event's result if shared."""
        shared = getattr(payload, "shared_results", None)
        if shared is not None:
            found = shared.get(self._key())
            if found is not None:
                return cast("Executor[Any]", _Executed(found[1]))
        executor = cast("FanOutExecutor", super().build_per_event_executor(payload))
        executor._per_event = True
        executor._relevant_sub_fields = {}
        executor._stream_usages = RefMap()
        return executor

    def execute_operation(self, serially: bool | None = None) -> Any:
        """Execute; keep the result with the event when it is shared."""
        result = super().execute_operation(serially)
        shared = getattr(self.root_value, "shared_results", None)
        if (
            shared is not None
            and self._per_event
            and isinstance(result, ExecutionResult)
            and not result.errors
        ):
            # The operation node is kept with the result so that its id, in
            # the key, cannot be reused while the entry lives.
            shared[self._key()] = (self.operation, result)
        return result

    def render_event(self, payload: Any) -> str | None:
        """This subscription's response to a shared event payload, as JSON text."""
        shared = getattr(payload, "shared_results", None)
        if shared is None:
            return None
        key = (*self._key(), "json")
        text: str | None = shared.get(key)
        if text is None:
            result = self.build_per_event_executor(payload).execute_operation(False)
            if not isinstance(result, ExecutionResult) or result.errors:
                _discard(result)
                return None
            # What Strawberry sends for a result without errors or extensions.
            text = shared[key] = json_text({"data": result.data})
        return text

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


def _discard(result: object) -> None:
    """Close an execution that would have to wait, so it never runs."""
    close = getattr(result, "close", None)
    if close is not None:
        close()
