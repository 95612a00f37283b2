"""The GraphQL surface: types, queries, mutations, and how errors are shown."""

from __future__ import annotations

from strawberry.schema.config import StrawberryConfig

from schema.context import PerOperationContext
from schema.errors import DataStoreSchema, ErrorCodes
from schema.mutations import Mutation
from schema.queries import Query
from schema.query_limits import QueryBudget, QueryLimits
from schema.subscriptions import Subscription


def build_schema(budget: QueryBudget | None = None) -> DataStoreSchema:
    """Return the API's schema, parsing and validating within ``budget``."""
    limits = budget or QueryBudget()
    return DataStoreSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[PerOperationContext, ErrorCodes, lambda: QueryLimits(limits)],
        config=StrawberryConfig(disable_field_suggestions=False),
    )
