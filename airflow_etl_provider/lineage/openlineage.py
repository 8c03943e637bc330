"""OpenLineage facets of a transfer. Imported only by the OpenLineage listener's calls into the
operator, so the optional `apache-airflow-providers-openlineage` costs nothing when absent."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyarrow as pa
from airflow.providers.openlineage.extractors import OperatorLineage
from airflow.providers.openlineage.sqlparser import SQLParser
from openlineage.client.event_v2 import InputDataset, OutputDataset
from openlineage.client.generated.column_lineage_dataset import (
    ColumnLineageDatasetFacet,
    Fields,
    InputField,
    Transformation,
)
from openlineage.client.generated.output_statistics_output_dataset import OutputStatisticsOutputDatasetFacet
from openlineage.client.generated.schema_dataset import SchemaDatasetFacet, SchemaDatasetFacetFields

from airflow_etl_provider.lineage.datasets import LineageDataset
from airflow_etl_provider.sql.names import TableName

if TYPE_CHECKING:
    from airflow_etl_provider.hooks.sql_base import SqlConnectorHook
    from airflow_etl_provider.lineage.transfer import TransferLineage


def query_tables(hook: SqlConnectorHook, query: str) -> list[LineageDataset]:
    """The tables `query` reads, named by the OpenLineage SQL parser in `hook`'s dialect."""
    meta = _parse(hook, query)
    if meta is None:
        return []
    datasets = (_table_dataset(hook, table) for table in meta.in_tables)
    return list(dict.fromkeys(dataset for dataset in datasets if dataset is not None))


def _parse(hook: SqlConnectorHook, query: str) -> Any:
    return SQLParser(dialect=hook.dialect, default_schema=hook.default_schema).parse(query)


def _table_dataset(hook: SqlConnectorHook, table: Any) -> LineageDataset | None:
    schema = table.schema or table.database
    return hook.table_dataset(TableName(table.name, schema or hook.default_schema))


def operator_lineage(lineage: TransferLineage, query_hook: SqlConnectorHook | None = None) -> OperatorLineage:
    """Input and output datasets; once the transfer ran, with schema, statistics and column lineage."""
    inputs = [
        InputDataset(
            namespace=d.namespace, name=d.name, facets=_schema_facets(lineage.input_schema, len(lineage.inputs))
        )
        for d in lineage.inputs
    ]
    outputs = []
    if lineage.output is not None:
        facets: dict[str, Any] = {}
        if lineage.output_schema is not None:
            facets["schema"] = schema_facet(lineage.output_schema)
            if column_lineage := _column_lineage(lineage, query_hook):
                facets["columnLineage"] = column_lineage
        output_facets: dict[str, Any] = {}
        if lineage.rows is not None:
            output_facets["outputStatistics"] = OutputStatisticsOutputDatasetFacet(
                rowCount=lineage.rows, size=lineage.bytes, fileCount=lineage.files
            )
        outputs.append(
            OutputDataset(
                namespace=lineage.output.namespace,
                name=lineage.output.name,
                facets=facets,
                outputFacets=output_facets,
            )
        )
    return OperatorLineage(inputs=inputs, outputs=outputs)


def _schema_facets(schema: pa.Schema | None, input_count: int) -> dict[str, Any]:
    """The columns read belong to the one data set read; a query's columns to no single table."""
    return {"schema": schema_facet(schema)} if schema is not None and input_count == 1 else {}


def schema_facet(schema: pa.Schema) -> SchemaDatasetFacet:
    """The Arrow schema as OpenLineage fields: column names and Arrow type names, structs nested."""
    return SchemaDatasetFacet(fields=[_field(f, position) for position, f in enumerate(schema, start=1)])


def _field(arrow_field: pa.Field, position: int) -> SchemaDatasetFacetFields:
    nested = []
    if pa.types.is_struct(arrow_field.type):
        nested = [_field(arrow_field.type.field(i), i + 1) for i in range(arrow_field.type.num_fields)]
    return SchemaDatasetFacetFields(
        name=arrow_field.name, type=str(arrow_field.type), ordinal_position=position, fields=nested
    )


def _column_lineage(lineage: TransferLineage, query_hook: SqlConnectorHook | None) -> ColumnLineageDatasetFacet | None:
    """Identity per column from one table or file; a query's own lineage from the SQL parser;
    through a transform, every output column with its inputs unknown (and the reason said)."""
    assert lineage.output_schema is not None
    columns = lineage.output_schema.names
    if lineage.transform is not None:
        reason = (
            f"the Python transform {lineage.transform!r} ran on every chunk; "
            "which input columns feed this column is not known"
        )
        return ColumnLineageDatasetFacet(
            fields={c: Fields(inputFields=[], transformationDescription=reason) for c in columns}
        )
    if lineage.query is not None:
        return _query_column_lineage(lineage.query, query_hook, columns)
    if len(lineage.inputs) != 1 or lineage.input_schema is None:
        return None
    source = lineage.inputs[0]
    read = set(lineage.input_schema.names)
    identity = [Transformation(type="DIRECT", subtype="IDENTITY")]
    return ColumnLineageDatasetFacet(
        fields={
            c: Fields(
                inputFields=[
                    InputField(namespace=source.namespace, name=source.name, field=c, transformations=identity)
                ]
            )
            for c in columns
            if c in read
        }
    )


def _query_column_lineage(
    query: str, hook: SqlConnectorHook | None, columns: list[str]
) -> ColumnLineageDatasetFacet | None:
    if hook is None:
        return None
    meta = _parse(hook, query)
    if meta is None:
        return None
    fields: dict[str, Fields] = {}
    for column in meta.column_lineage:
        if column.descendant.name not in columns:
            continue
        inputs = []
        for origin in column.lineage:
            dataset = _table_dataset(hook, origin.origin) if origin.origin is not None else None
            if dataset is not None:
                inputs.append(InputField(namespace=dataset.namespace, name=dataset.name, field=origin.name))
        if inputs:
            fields[column.descendant.name] = Fields(inputFields=inputs)
    return ColumnLineageDatasetFacet(fields=fields) if fields else None
