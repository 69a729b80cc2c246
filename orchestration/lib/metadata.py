"""Dagster's standard table metadata for an asset's materialization: the UI's row count, table name and columns."""

from __future__ import annotations

import dagster as dg
import pyarrow as pa


def table_metadata(context: dg.AssetExecutionContext, rows: int, table_name: str,
                   schema: pa.Schema | None = None) -> dict:
    """`dagster/row_count` (the run's window), `dagster/partition_row_count` when the run is one partition,
    `dagster/table_name`, and `dagster/column_schema` from an Arrow schema."""
    columns = None
    if schema is not None:
        columns = dg.TableSchema(columns=[dg.TableColumn(f.name, str(f.type),
                                                         constraints=dg.TableColumnConstraints(nullable=f.nullable))
                                          for f in schema])
    one = len(context.partition_keys) == 1
    return dict(dg.TableMetadataSet(row_count=rows, partition_row_count=rows if one else None,
                                    table_name=table_name, column_schema=columns))
