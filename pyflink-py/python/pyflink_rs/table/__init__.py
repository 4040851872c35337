"""PyFlink's ``pyflink.table`` names on pyflink-rs: describe a table with ``TableDescriptor``,
``Schema`` and ``DataTypes``, register it in a ``StreamTableEnvironment``, and read its rows as
a data stream (``to_data_stream``). ``TableEnvironment`` runs Flink SQL (``execute_sql``,
``sql_query``) and the Table API (``pyflink_rs.table.expressions``). The ``datagen`` connector makes rows of random or sequence
values (options ``rows-per-second``, ``number-of-rows``, ``fields.<column>.kind``, ``.min``,
``.max``, ``.length``, ``.start``, ``.end``)."""

from pyflink_rs.common.types import Row, RowKind
from pyflink_rs.table.data_view import DataView, ListView, MapView
from pyflink_rs.table.explain_detail import ExplainDetail
from pyflink_rs.table.schema import FormatDescriptor, Schema, TableDescriptor
from pyflink_rs.table.table import (
    AggregatedTable, FlatAggregateTable, GroupedTable, ResultKind, Table, TableResult, TableSchema)
from pyflink_rs.table.table_environment import (
    EnvironmentSettings, StatementSet, StreamTableEnvironment, TableConfig, TableEnvironment)
from pyflink_rs.table.types import DataType, DataTypes

__all__ = [
    "AggregatedTable",
    "FlatAggregateTable",
    "DataType",
    "DataTypes",
    "DataView",
    "ListView",
    "MapView",
    "EnvironmentSettings",
    "ExplainDetail",
    "FormatDescriptor",
    "Row",
    "RowKind",
    "Schema",
    "StreamTableEnvironment",
    "GroupedTable",
    "ResultKind",
    "StatementSet",
    "Table",
    "TableConfig",
    "TableDescriptor",
    "TableEnvironment",
    "TableResult",
    "TableSchema",
]
