"""What the Table API tests share: a streaming table environment and the sorted rows of a
table."""

from pyflink_rs.table import EnvironmentSettings, TableEnvironment


def streaming(parallelism=2, **config):
    """A streaming table environment of `parallelism`, with the options `config` (dots in
    their names written as underscores, `state_backend_type="rocksdb"`)."""
    t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    t_env.get_config().set("parallelism.default", str(parallelism))
    for key, value in config.items():
        t_env.get_config().set(key.replace("_", "."), value)
    return t_env


def rows(table):
    """The rows `table` leaves, as sorted tuples."""
    with table.execute().collect() as results:
        return sorted(tuple(row) for row in results)
