"""What the Table API tests share: a streaming table environment, a table of sales on a
stream with event time, and the sorted rows of a table."""

from pyflink_rs.common import Instant, Types
from pyflink_rs.datastream import StreamExecutionEnvironment
from pyflink_rs.table import DataTypes, EnvironmentSettings, Schema, StreamTableEnvironment, TableEnvironment


# Where Python functions run: the tests of every kind of function run in both.
MODES = ["thread", "process"]


def streaming(parallelism=2, mode=None, **config):
    """A streaming table environment of `parallelism`, its Python functions run in `mode`
    (`python.execution-mode`) if given, with the options `config` (dots in their names
    written as underscores, `state_backend_type="rocksdb"`)."""
    t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    t_env.get_config().set("parallelism.default", str(parallelism))
    if mode is not None:
        t_env.get_config().set("python.execution-mode", mode)
    for key, value in config.items():
        t_env.get_config().set(key.replace("_", "."), value)
    return t_env


def rows(table):
    """The rows `table` leaves, as sorted tuples."""
    with table.execute().collect() as results:
        return sorted(tuple(row) for row in results)


SALES = [(1000, "Alice", 110.1), (4000, "Bob", 30.2), (3000, "Alice", 20.0), (2000, "Bob", 53.1),
         (8000, "Bob", 16.1), (10000, "Alice", 20.1)]


def sales_table():
    """A table environment on a stream environment of parallelism 1, and a table of `SALES`
    (`ts` an event-time attribute with a watermark 3 s behind, `name`, `price`)."""
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(1)
    t_env = StreamTableEnvironment.create(stream_execution_environment=env)
    ds = env.from_collection(
        [(Instant.of_epoch_milli(ts), name, price) for ts, name, price in SALES],
        type_info=Types.ROW([Types.INSTANT(), Types.STRING(), Types.FLOAT()]))
    table = t_env.from_data_stream(
        ds,
        Schema.new_builder()
        .column_by_expression("ts", "CAST(f0 AS TIMESTAMP(3))")
        .column("f1", DataTypes.STRING())
        .column("f2", DataTypes.FLOAT())
        .watermark("ts", "ts - INTERVAL '3' SECOND")
        .build()).alias("ts", "name", "price")
    return t_env, table
