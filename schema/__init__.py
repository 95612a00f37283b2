"""The GraphQL surface: types, queries, mutations, and how errors are shown."""

from __future__ import annotations

from strawberry.extensions import ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig

from schema.errors import DataStoreSchema, ErrorCodes
from schema.mutations import Mutation
from schema.queries import Query


def build_schema() -> DataStoreSchema:
    """Return the API's schema."""
    return DataStoreSchema(
        query=Query,
        mutation=Mutation,
        extensions=[ErrorCodes, ParserCache, ValidationCache],
        config=StrawberryConfig(disable_field_suggestions=False),
    )
