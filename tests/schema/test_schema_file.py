"""The schema as an artifact: the committed schema.graphql matches the code,
and every type, field and argument says what it is for."""

from __future__ import annotations

from pathlib import Path

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
)

from schema import build_schema

SCHEMA_FILE = Path(__file__).parent.parent.parent / "schema.graphql"


def test_committed_schema_matches_the_code() -> None:
    """Regenerate it with `datastore export-schema` after changing the schema."""
    assert SCHEMA_FILE.read_text() == build_schema().as_str() + "\n"


def test_every_type_field_and_argument_has_a_description() -> None:
    missing = []
    for name, kind in build_schema()._schema.type_map.items():
        if name.startswith("__") or (kind.ast_node is None and _builtin(name)):
            continue
        if not kind.description:
            missing.append(name)
        if isinstance(kind, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in kind.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
                missing += [
                    f"{name}.{field_name}({argument})"
                    for argument, spec in field.args.items()
                    if not spec.description
                ]
        if isinstance(kind, GraphQLInputObjectType):
            missing += [
                f"{name}.{field_name}"
                for field_name, field in kind.fields.items()
                if not field.description
            ]
        if isinstance(kind, GraphQLEnumType) and not kind.description:
            missing.append(name)

    assert missing == []


def _builtin(name: str) -> bool:
    return name in {"String", "Int", "Float", "Boolean", "ID"}
