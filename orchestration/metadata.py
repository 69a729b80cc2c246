"""Dagster's standard table metadata for an asset's materialization: the UI's row count, table name and columns."""

from __future__ import annotations

import dagster as dg
import pyarrow as pa


def table_metadata(context: dg.AssetExecutionContext, rows: int, table_name: str,
                   schema: pa.Schema | None = None) -> dict[str, dg.MetadataValue]:
    """`dagster/row_count` (the run's window), `dagster/partition_row_count` when the run is one partition,
    `dagster/table_name`, and `dagster/column_schema` from an Arrow schema: the keys Dagster's UI shows."""
    metadata = {"dagster/row_count": dg.MetadataValue.int(rows),
                "dagster/table_name": dg.MetadataValue.text(table_name)}
    if len(context.partition_keys) == 1:
        metadata["dagster/partition_row_count"] = dg.MetadataValue.int(rows)
    if schema is not None:
        metadata["dagster/column_schema"] = dg.MetadataValue.table_schema(dg.TableSchema(columns=[
            dg.TableColumn(f.name, str(f.type), constraints=dg.TableColumnConstraints(nullable=f.nullable))
            for f in schema]))
    return metadata
