"""Python aggregate functions (configured for thread or process mode, run in the engine's interpreter): `udaf(AggregateFunction())` in SQL GROUP BY (with
rows retracted from an updating input, on heap and RocksDB state), in group windows and OVER
windows, its changes emitted once per group and batch, `GroupedTable.aggregate` of a ROW-valued function on whole rows, and
`udtaf(TableAggregateFunction())` in `flat_aggregate`; wrong uses say what to fix."""

import pytest

from pyflink_rs.common import Row
from pyflink_rs.table import DataTypes, MapView
from pyflink_rs.table.expressions import CURRENT_ROW, col, lit, row_interval
from pyflink_rs.table.udf import AggregateFunction, TableAggregateFunction, udaf, udtaf
from pyflink_rs.table.window import Over, Tumble
from table_helpers import MODES, rows, sales_table, streaming


class WeightedAverage(AggregateFunction):
    """The average of `value` weighted by `weight`; a list accumulator, changed in place."""

    def create_accumulator(self):
        return [0, 0]

    def accumulate(self, accumulator, value, weight):
        accumulator[0] += value * weight
        accumulator[1] += weight

    def retract(self, accumulator, value, weight):
        accumulator[0] -= value * weight
        accumulator[1] -= weight

    def merge(self, accumulator, accumulators):
        for other in accumulators:
            accumulator[0] += other[0]
            accumulator[1] += other[1]

    def get_value(self, accumulator):
        return None if accumulator[1] == 0 else accumulator[0] // accumulator[1]


class CountAndSum(AggregateFunction):
    """The count and sum of the rows' `n`, a ROW; a Row accumulator, changed in place."""

    def create_accumulator(self):
        return Row(0, 0)

    def accumulate(self, accumulator, row):
        accumulator[0] += 1
        accumulator[1] += row.n

    def get_value(self, accumulator):
        return Row(accumulator[0], accumulator[1])

    def get_result_type(self):
        return DataTypes.ROW([DataTypes.FIELD("cnt", DataTypes.BIGINT()), DataTypes.FIELD("total", DataTypes.BIGINT())])


class Top2(TableAggregateFunction):
    def create_accumulator(self):
        return []

    def accumulate(self, accumulator, n):
        accumulator.append(n)
        accumulator.sort(reverse=True)
        del accumulator[2:]

    def emit_value(self, accumulator):
        for n in accumulator:
            yield Row(n)

    def get_result_type(self):
        return DataTypes.ROW([DataTypes.FIELD("n", DataTypes.BIGINT())])


class DistinctQuantities(AggregateFunction):
    """How many different quantities a group has, counted in a `MapView` of an accumulator
    `Row`, as PyFlink's data views are declared."""

    def create_accumulator(self):
        return Row(MapView())

    def accumulate(self, accumulator, qty):
        seen = accumulator[0]
        seen[qty] = (seen.get(qty) or 0) + 1

    def retract(self, accumulator, qty):
        seen = accumulator[0]
        seen.put(qty, seen.get(qty) - 1)
        if seen[qty] == 0:
            seen.remove(qty)

    def get_value(self, accumulator):
        return len(accumulator[0].keys())

    def get_accumulator_type(self):
        return DataTypes.ROW([DataTypes.FIELD("seen", DataTypes.MAP_VIEW(DataTypes.BIGINT(), DataTypes.BIGINT()))])


SALES = [("a", 10, 1), ("b", 4, 2), ("a", 20, 3), ("a", 5, 0), ("b", 8, 2)]


@pytest.mark.parametrize("backend", ["hashmap", "rocksdb"])
def test_accumulators_with_data_views_survive_state_and_retractions(backend):
    t_env = streaming(2, state_backend_type=backend)
    t_env.create_temporary_view("sales", t_env.from_elements(SALES, ["item", "price", "qty"]))
    t_env.create_temporary_function("distinct_qty", udaf(DistinctQuantities(), result_type=DataTypes.BIGINT()))
    assert rows(t_env.sql_query("SELECT item, distinct_qty(qty) FROM sales GROUP BY item")) == [("a", 3), ("b", 1)]
    # The per-item maxima change as rows come, so old ones are retracted from the views.
    nested = t_env.sql_query("SELECT distinct_qty(q) FROM (SELECT item, MAX(qty) AS q FROM sales GROUP BY item)")
    assert rows(nested) == [(2,)]


@pytest.mark.parametrize("backend", ["hashmap", "rocksdb"])
@pytest.mark.parametrize("mode", MODES)
def test_sql_aggregates_groups_with_a_python_function(backend, mode):
    t_env = streaming(2, state_backend_type=backend, mode=mode)
    t_env.create_temporary_view("sales", t_env.from_elements(SALES, ["item", "price", "qty"]))
    t_env.create_temporary_function("weighted_avg", udaf(WeightedAverage(), result_type=DataTypes.BIGINT()))
    grouped = t_env.sql_query("SELECT item, weighted_avg(price, qty) AS p FROM sales GROUP BY item")
    assert rows(grouped) == [("a", 17), ("b", 6)]
    # The inner counts change as rows come, so the function sees each old count retracted.
    nested = t_env.sql_query(
        "SELECT weighted_avg(n, 1) AS avg_count FROM (SELECT item, COUNT(*) AS n FROM sales GROUP BY item)")
    assert rows(nested) == [(2,)]


def test_changes_are_emitted_once_per_group_and_batch():
    t_env = streaming(1)
    table = t_env.from_elements(SALES, ["item", "price", "qty"])
    weighted = udaf(WeightedAverage(), result_type=DataTypes.BIGINT())
    changes = table.group_by(col("item")).select(col("item"), weighted(col("price"), col("qty")).alias("p"))
    with changes.execute().collect() as results:
        printed = [(row.get_row_kind().short_string(), tuple(row)) for row in results]
    # All rows arrive in one batch: one insertion per group, no intermediate updates.
    assert sorted(printed) == [("+I", ("a", 17)), ("+I", ("b", 6))]


def test_aggregate_and_flat_aggregate_of_whole_rows_and_columns():
    t_env = streaming(2)
    table = t_env.from_elements([(1, "x", 5), (2, "y", 7), (3, "x", 9), (4, "x", 1)], ["id", "k", "n"])
    count_sum = udaf(CountAndSum())
    aggregated = table.group_by(col("k")).aggregate(count_sum.alias("c", "s")).select(col("k"), col("c"), col("s"))
    assert rows(aggregated) == [("x", 3, 15), ("y", 1, 7)]
    whole = table.aggregate(count_sum).select(col("cnt"), col("total"))
    assert rows(whole) == [(4, 22)]
    top2 = udtaf(Top2())
    flat = table.group_by(col("k")).flat_aggregate(top2(col("n"))).select(col("k"), col("n"))
    assert rows(flat) == [("x", 5), ("x", 9), ("y", 7)]


class Failing(WeightedAverage):
    def accumulate(self, accumulator, value, weight):
        raise ValueError(f"no weight for {value}")


class NoRetract(WeightedAverage):
    retract = AggregateFunction.retract


def test_wrong_functions_and_failures_say_what_to_fix():
    with pytest.raises(TypeError, match="udaf takes an instance of a subclass of AggregateFunction"):
        udaf(lambda x: x, result_type=DataTypes.BIGINT())
    with pytest.raises(TypeError, match="needs its result type"):
        udaf(WeightedAverage())
    t_env = streaming(1)
    t_env.create_temporary_view("sales", t_env.from_elements(SALES, ["item", "price", "qty"]))
    t_env.create_temporary_function("failing", udaf(Failing(), result_type=DataTypes.BIGINT()))
    with pytest.raises(Exception, match="(?s)'failing' failed in accumulate.*no weight for 10"):
        rows(t_env.sql_query("SELECT item, failing(price, qty) FROM sales GROUP BY item"))
    t_env.create_temporary_function("no_retract", udaf(NoRetract(), result_type=DataTypes.BIGINT()))
    with pytest.raises(Exception, match="was given a retraction, but does not define retract"):
        rows(t_env.sql_query("SELECT no_retract(n, 1) FROM (SELECT item, COUNT(*) AS n FROM sales GROUP BY item)"))


class Largest(AggregateFunction):
    """The largest value, kept in a one-element list."""

    def create_accumulator(self):
        return [None]

    def accumulate(self, accumulator, value):
        if accumulator[0] is None or value > accumulator[0]:
            accumulator[0] = value

    def merge(self, accumulator, accumulators):
        for other in accumulators:
            if other[0] is not None:
                self.accumulate(accumulator, other[0])

    def get_value(self, accumulator):
        return accumulator[0]


def test_python_aggregates_in_group_windows_and_over_windows():
    _, table = sales_table()
    largest = udaf(Largest(), result_type=DataTypes.FLOAT())
    tumbling = table.window(Tumble.over(lit(5).seconds).on(col("ts")).alias("w")) \
        .group_by(col("name"), col("w")) \
        .select(col("name"), largest(col("price")))
    assert [(name, round(top, 1)) for name, top in rows(tumbling)] == [
        ("Alice", 20.1), ("Alice", 110.1), ("Bob", 16.1), ("Bob", 53.1)]
    last_two = Over.partition_by(col("name")).order_by(col("ts")).preceding(row_interval(1)) \
        .following(CURRENT_ROW).alias("w")
    over = table.over_window(last_two).select(col("name"), largest(col("price")).over(col("w")))
    assert [(name, round(top, 1)) for name, top in rows(over)] == [
        ("Alice", 20.1), ("Alice", 110.1), ("Alice", 110.1), ("Bob", 30.2), ("Bob", 53.1), ("Bob", 53.1)]
