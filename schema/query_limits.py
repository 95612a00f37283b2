"""Parsing and validation with a budget, so that one request cannot stall the server.

graphql-core's overlapping-fields rule is quadratic in repeated fields: a
request of 1,000 copies of one field took half a second of the event loop to
validate here, and 60,000 took seven. This extension therefore parses with a
token cap, counts fields and aliases (one linear pass), and only then runs
validation, answering an over-budget document with an ordinary request error.

It also caches parsing and validation, like Strawberry's ParserCache and
ValidationCache, which it replaces: those validate whatever the document's
size, and the parser cache raises its errors outside the operation.

Nested lists multiply: ``room { sessions(first: 100) { room { sessions(first:
100) { ... } } } }`` selects a few fields yet resolves a million objects.
So each operation's cost is also estimated before it runs, as the number of
fields it could resolve: a field inside a list counts once per item the list
may hold (its ``first``, or its default page; ``PER_LIST`` for a list
without paging), and a fragment counts wherever it is spread.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Visitor,
    get_named_type,
    parse,
    validate,
    value_from_ast_untyped,
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
    max_cost: int = 10_000


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
        refusal = self._refusal(document, named) or self._too_costly(
            context.schema._schema, document, named, context.variables or {}
        )
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

    def _too_costly(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation_name: str | None,
        variables: dict[str, Any],
    ) -> GraphQLError | None:
        estimate = _Cost(schema, document, variables, self.budget.max_cost)
        for operation in document.definitions:
            if not isinstance(operation, OperationDefinitionNode):
                continue
            if operation_name is not None and (
                operation.name is None or operation.name.value != operation_name
            ):
                continue
            root = schema.get_root_type(operation.operation)
            cost = estimate.of(root, operation.selection_set, 1, ())
            if cost > self.budget.max_cost:
                return GraphQLError(
                    f"the operation could resolve {_at_least(cost, estimate.cap)} "
                    f"fields (lists multiply what they hold); at most "
                    f"{self.budget.max_cost} are allowed: ask for smaller pages or "
                    "fewer nested lists"
                )
        return None


# A list without a page size (a session's participants, a document's keys)
# counts as this many items.
PER_LIST = 100


class _Cost:
    """Estimates how many fields an operation could resolve, stopping past a cap."""

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        variables: dict[str, Any],
        cap: int,
    ) -> None:
        self.schema = schema
        self.variables = variables
        self.cap = cap
        self.fragments = {
            d.name.value: d
            for d in document.definitions
            if isinstance(d, FragmentDefinitionNode)
        }

    def of(
        self,
        parent: GraphQLNamedType | None,
        selections: SelectionSetNode,
        multiplier: int,
        spreading: tuple[str, ...],
    ) -> int:
        """The cost of a selection set inside lists that hold ``multiplier`` items."""
        total = 0
        for node in selections.selections:
            if isinstance(node, FieldNode):
                total += multiplier + self._inside(parent, node, multiplier, spreading)
            elif isinstance(node, InlineFragmentNode):
                condition = node.type_condition
                inner = (
                    self.schema.get_type(condition.name.value) if condition else parent
                )
                total += self.of(inner, node.selection_set, multiplier, spreading)
            elif isinstance(node, FragmentSpreadNode):
                name = node.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in spreading:  # cycles: invalid
                    inner = self.schema.get_type(fragment.type_condition.name.value)
                    total += self.of(
                        inner, fragment.selection_set, multiplier, (*spreading, name)
                    )
            if total > self.cap:
                break  # enough to refuse; the whole walk could be exponential
        return total

    def _inside(
        self,
        parent: GraphQLNamedType | None,
        node: FieldNode,
        multiplier: int,
        spreading: tuple[str, ...],
    ) -> int:
        if node.selection_set is None or not isinstance(
            parent, GraphQLObjectType | GraphQLInterfaceType
        ):
            return 0
        field = parent.fields.get(node.name.value)
        if field is None:
            return 0  # validation reports it
        kind = (
            field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
        )
        if isinstance(kind, GraphQLList):
            multiplier *= self._items(node, field)
        inner = get_named_type(field.type)
        return self.of(inner, node.selection_set, multiplier, spreading)

    def _items(self, node: FieldNode, field: GraphQLField) -> int:
        """How many items a list field may return: its page size, else PER_LIST."""
        first = field.args.get("first")
        if first is None:
            return PER_LIST
        value: object = first.default_value
        for argument in node.arguments or ():
            if argument.name.value == "first":
                value = value_from_ast_untyped(argument.value, self.variables)
        return value if isinstance(value, int) and value > 0 else PER_LIST


def _at_least(cost: int, cap: int) -> str:
    return f"more than {cap}" if cost > cap else str(cost)


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
