"""Parsing and validation with a budget, so that one request cannot stall the server.

graphql-core's overlapping-fields rule is quadratic in repeated fields: a
request of 1,000 copies of one field took half a second of the event loop to
validate here, and 60,000 took seven. This extension therefore parses with a
token cap, counts fields and aliases (one linear pass), and only then runs
validation, answering an over-budget document with an ordinary request error.

It also caches parsing and validation, like Strawberry's ParserCache and
ValidationCache, which it replaces: those validate whatever the document's
size, and the parser cache raises its errors outside the operation.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from functools import lru_cache

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    Visitor,
    parse,
    validate,
    visit,
)
from graphql.validation import ASTValidationRule
from strawberry.extensions import SchemaExtension

CACHE_SIZE = 256


@dataclass(frozen=True)
class QueryBudget:
    """The most a single GraphQL document may ask for."""

    max_tokens: int = 10_000
    max_fields: int = 200
    max_aliases: int = 50


class QueryLimits(SchemaExtension):
    """Parse and validate within a budget, with caches."""

    def __init__(self, budget: QueryBudget) -> None:
        super().__init__()
        self.budget = budget

    def on_parse(self) -> Iterator[None]:
        """Parse (cached) with the token cap."""
        context = self.execution_context
        # Strawberry parses again with these options when this parse fails,
        # and reports the syntax error as a request error.
        context.parse_options = {
            **context.parse_options,
            "max_tokens": self.budget.max_tokens,
        }
        if context.query is not None:
            with contextlib.suppress(GraphQLError):
                context.graphql_document = _parse(context.query, self.budget.max_tokens)
        yield

    def on_validate(self) -> Iterator[None]:
        """Refuse an over-budget document, else validate it (cached)."""
        context = self.execution_context
        document = context.graphql_document
        assert document is not None
        # Strawberry's ``operation_name`` falls back to the first operation's
        # name; the spec wants an error when several exist and none is named
        # (GraphQL spec, "GetOperation"), so the name the caller sent is read.
        named = getattr(context, "_provided_operation_name", None)
        refusal = self._refusal(document, named)
        context.pre_execution_errors = (
            [refusal]
            if refusal is not None
            else _validate(context.schema._schema, document, context.validation_rules)
        )
        yield

    def _refusal(
        self, document: DocumentNode, operation_name: str | None
    ) -> GraphQLError | None:
        count = _count(document)
        if count.operations > 1 and operation_name is None:
            return GraphQLError(
                "the document has several operations: say which with operationName"
            )
        if count.fields > self.budget.max_fields:
            return GraphQLError(
                f"the document selects {count.fields} fields; at most "
                f"{self.budget.max_fields} are allowed"
            )
        if count.aliases > self.budget.max_aliases:
            return GraphQLError(
                f"the document uses {count.aliases} aliases; at most "
                f"{self.budget.max_aliases} are allowed"
            )
        return None


class _Count(Visitor):
    """Counts operations, fields and aliases in one pass (graphql-core's visit)."""

    def __init__(self) -> None:
        super().__init__()
        self.operations = 0
        self.fields = 0
        self.aliases = 0

    def enter_operation_definition(
        self, node: OperationDefinitionNode, *_: object
    ) -> None:
        self.operations += 1

    def enter_field(self, node: FieldNode, *_: object) -> None:
        self.fields += 1
        self.aliases += node.alias is not None

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_: object) -> None:
        # A spread repeats its fragment's fields, so it is counted as one more.
        self.fields += 1


@lru_cache(maxsize=CACHE_SIZE)
def _count(document: DocumentNode) -> _Count:
    """Count a document once: parsed documents are cached and never change."""
    count = _Count()
    visit(document, count)
    return count


@lru_cache(maxsize=CACHE_SIZE)
def _parse(query: str, max_tokens: int) -> DocumentNode:
    return parse(query, max_tokens=max_tokens)


@lru_cache(maxsize=CACHE_SIZE)
def _validate(
    schema: GraphQLSchema,
    document: DocumentNode,
    rules: Collection[type[ASTValidationRule]],
) -> list[GraphQLError]:
    return validate(schema, document, rules)
