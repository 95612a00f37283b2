"""The GraphQL surface: types, queries, mutations, and how errors are shown."""

from __future__ import annotations

from typing import Any

from strawberry.schema.config import StrawberryConfig

from schema.context import PerOperationContext
from schema.errors import DataStoreSchema, ErrorCodes
from schema.execution import FanOutExecutor
from schema.mutations import Mutation
from schema.observability import Observed, Observer
from schema.queries import Query
from schema.query_limits import QueryBudget, QueryLimits
from schema.subscriptions import Subscription


def build_schema(
    budget: QueryBudget | None = None, observer: Observer | None = None
) -> DataStoreSchema:
    """Return the API's schema, within ``budget``, reporting to ``observer``."""
    limits = budget or QueryBudget()
    extensions: list[Any] = [PerOperationContext]
    if observer is not None:
        # Before ErrorCodes, so that it sees the errors with their codes.
        extensions.append(lambda: Observed(observer))
    extensions += [ErrorCodes, lambda: QueryLimits(limits)]
    return DataStoreSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=False),
        execution_context_class=FanOutExecutor,
    )
