"""Watching operations: what ran, how long it took, and how it failed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Protocol

from graphql import FieldNode, OperationDefinitionNode
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

UNKNOWN = "unknown"


class Observer(Protocol):
    """Receives one record per root field of each operation."""

    def observe(
        self, operation: str, kind: str, seconds: float, codes: list[str]
    ) -> None:
        """Record that a root field ran, for how long, with which error codes."""
        ...


class Observed(SchemaExtension):
    """Report each operation to the observer once it has run (or its stream ended)."""

    def __init__(self, observer: Observer) -> None:
        super().__init__()
        self.observer = observer

    def on_operation(self) -> Iterator[None]:
        """Time the operation and report its root fields and error codes."""
        started = time.perf_counter()
        yield
        seconds = time.perf_counter() - started
        context = self.execution_context
        result = context.result
        codes = [
            str((error.extensions or {}).get("code", UNKNOWN))
            for error in (getattr(result, "errors", None) or [])
        ]
        kind, fields = _root_fields(context)
        for field in fields or [UNKNOWN]:
            self.observer.observe(field, kind, seconds, codes)


def _root_fields(context: ExecutionContext) -> tuple[str, list[str]]:
    """The operation's type and its root fields' names (not aliases)."""
    document = context.graphql_document
    if document is None:
        return UNKNOWN, []
    try:
        kind = context.operation_type.value
    except RuntimeError:  # the document has no such operation: a request error
        return UNKNOWN, []
    name = context.operation_name
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        if name is None or (definition.name and definition.name.value == name):
            fields = [
                selection.name.value
                for selection in definition.selection_set.selections
                if isinstance(selection, FieldNode)
            ]
            return kind, fields
    return kind, []
