"""Joins from Python: `Table.join` / `left_outer_join` / `right_outer_join` /
`full_outer_join`, SQL joins in streaming mode (a changelog) and batch mode, and
`table.exec.state.ttl` through `TableConfig`."""

import datetime

import pytest

from pyflink_rs.table import EnvironmentSettings, TableEnvironment
from pyflink_rs.table.expressions import col


def orders_and_customers(t_env):
    orders = t_env.from_elements([(1, 10), (1, 15), (3, 7)], schema=["customer", "amount"])
    customers = t_env.from_elements([(1, "north"), (2, "south")], schema=["id", "region"])
    return orders, customers


def applied(changelog):
    """The rows a changelog leaves, sorted."""
    table = []
    for row in changelog:
        values = tuple(row)
        if row.get_row_kind().name in ("INSERT", "UPDATE_AFTER"):
            table.append(values)
        else:
            table.remove(values)
    return sorted(table, key=repr)


def test_table_api_joins_pad_the_rows_without_a_match():
    t_env = TableEnvironment.create(EnvironmentSettings.in_batch_mode())
    orders, customers = orders_and_customers(t_env)
    on = col("customer") == col("id")
    rows = lambda table: sorted((tuple(row) for row in table.execute().collect()), key=repr)
    assert rows(orders.join(customers, on)) == [(1, 10, 1, "north"), (1, 15, 1, "north")]
    assert rows(orders.left_outer_join(customers, on).select(col("amount"), col("region"))) == sorted(
        [(7, None), (10, "north"), (15, "north")], key=repr)
    assert rows(orders.right_outer_join(customers, on).select(col("id"), col("amount"))) == sorted(
        [(1, 10), (1, 15), (2, None)], key=repr)
    assert len(rows(orders.full_outer_join(customers, on))) == 4
    # Without a predicate, every pair.
    assert len(rows(orders.join(customers))) == 6


def test_a_streaming_join_of_a_changelog_ends_with_the_joined_final_rows():
    t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    t_env.get_config().set("parallelism.default", "2")
    orders, customers = orders_and_customers(t_env)
    t_env.create_temporary_view("orders", orders)
    t_env.create_temporary_view("customers", customers)
    result = t_env.execute_sql(
        "SELECT region, total FROM customers LEFT JOIN "
        "(SELECT customer, SUM(amount) AS total FROM orders GROUP BY customer) ON customer = id")
    assert applied(result.collect()) == sorted([("north", 25), ("south", None)], key=repr)


def test_joined_tables_must_not_share_column_names():
    t_env = TableEnvironment.create(EnvironmentSettings.in_batch_mode())
    orders, _ = orders_and_customers(t_env)
    with pytest.raises(Exception, match="join relations with ambiguous names: customer, amount"):
        orders.join(orders)


def test_the_idle_state_retention_is_table_exec_state_ttl():
    t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    config = t_env.get_config()
    config.set_idle_state_retention(datetime.timedelta(hours=1))
    assert config.get("table.exec.state.ttl") == "3600000 ms"
    assert config.get_idle_state_retention() == datetime.timedelta(hours=1)
    config.set("table.exec.state.ttl", "10 min")
    assert config.get_idle_state_retention() == datetime.timedelta(minutes=10)
    with pytest.raises(Exception, match="table.exec.state.ttl"):
        config.set("table.exec.state.ttl", "soon")


def test_top_n_and_deduplication_queries_keep_the_first_rows_of_each_partition():
    t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    t_env.get_config().set("parallelism.default", "2")
    sales = t_env.from_elements([("fruit", "apple", 3), ("fruit", "pear", 9), ("veg", "leek", 4),
                                 ("fruit", "plum", 5)], schema=["category", "item", "amount"])
    t_env.create_temporary_view("sales", sales)
    top = t_env.execute_sql(
        "SELECT category, item, rn FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY category ORDER BY amount DESC) "
        "AS rn FROM sales) WHERE rn <= 2")
    assert applied(top.collect()) == sorted([("fruit", "pear", 1), ("fruit", "plum", 2), ("veg", "leek", 1)],
                                            key=repr)
