"""pandas in the Table API (in thread and process mode): vectorized scalar functions called once per batch
with Series, vectorized aggregate functions in GROUP BY (in windows: PyFlink's pandas_udaf
example, in test_conformance), and tables from and to DataFrames."""

import pandas as pd
import pytest

from pyflink_rs.table import DataTypes
from pyflink_rs.table.expressions import col
from pyflink_rs.table.udf import udaf, udf
from table_helpers import MODES, rows, streaming


@udf(result_type=DataTypes.BIGINT(), func_type="pandas")
def weighted(price, qty):
    return price * qty


@udf(result_type=DataTypes.BIGINT(), func_type="pandas")
def batch_size(values):
    return pd.Series([len(values)] * len(values))


@udaf(result_type=DataTypes.DOUBLE(), func_type="pandas")
def median(values):
    return values.median()


SALES = [("a", 10, 1), ("b", 4, 2), ("a", 20, 3), ("a", 5, 0), ("b", 8, 2)]


@pytest.mark.parametrize("mode", MODES)
def test_a_pandas_function_gets_a_batch_of_rows_as_series(mode):
    t_env = streaming(1, mode=mode)
    table = t_env.from_elements(SALES, ["item", "price", "qty"])
    assert rows(table.select(col("item"), weighted(col("price"), col("qty")))) == [
        ("a", 0), ("a", 10), ("a", 60), ("b", 8), ("b", 16)]
    # The five rows arrive as one batch, which the function gets whole.
    assert rows(table.select(batch_size(col("price")))) == [(5,)] * 5
    t_env.create_temporary_function("weighted", weighted)
    assert rows(t_env.sql_query(f"SELECT weighted(price, qty) AS w FROM {table} WHERE item = 'b'")) == [(8,), (16,)]


def test_a_pandas_function_must_give_a_value_per_row():
    t_env = streaming(1)
    table = t_env.from_elements(SALES, ["item", "price", "qty"])
    total = udf(lambda price: price.sum(), result_type=DataTypes.BIGINT(), func_type="pandas", name="total")
    with pytest.raises(Exception, match="must return a pandas.Series of 5 values"):
        rows(table.select(total(col("price"))))


@pytest.mark.parametrize("mode", MODES)
def test_a_pandas_aggregate_gets_each_groups_values_as_series(mode):
    t_env = streaming(2, mode=mode)
    table = t_env.from_elements(SALES, ["item", "price", "qty"])
    grouped = table.group_by(col("item")).select(col("item"), median(col("price")))
    assert rows(grouped) == [("a", 10.0), ("b", 6.0)]


def test_tables_from_and_to_data_frames():
    t_env = streaming(1)
    frame = pd.DataFrame({"name": ["x", "y", None], "score": [1.5, float("nan"), 3.0]})
    table = t_env.from_pandas(frame)
    assert table.get_schema().get_field_names() == ["name", "score"]
    assert sorted(map(tuple, table.to_pandas().astype(object).where(lambda f: f.notna(), None).values.tolist()),
                  key=repr) == sorted([("x", 1.5), ("y", None), (None, 3.0)], key=repr)
    typed = t_env.from_pandas(frame, DataTypes.ROW([DataTypes.FIELD("n", DataTypes.STRING()),
                                                   DataTypes.FIELD("s", DataTypes.DOUBLE())]))
    counted = typed.group_by(col("n")).select(col("n"), col("s").count.alias("c"))
    result = counted.to_pandas()
    assert list(result.columns) == ["n", "c"]
    # The changelog is applied: one row per name.
    assert len(result) == 3


def test_to_pandas_applies_retractions_in_order_over_many_changes():
    t_env = streaming(1)
    names = [f"k{i % 50}" for i in range(5000)]
    table = t_env.from_pandas(pd.DataFrame({"n": names}),
                              DataTypes.ROW([DataTypes.FIELD("n", DataTypes.STRING())]))
    counted = table.group_by(col("n")).select(col("n"), col("n").count.alias("c")).to_pandas()
    # 5,000 additions and 4,950 retractions leave each name once, with its final count, in the
    # order of the names' last updates.
    assert counted.values.tolist() == [[f"k{i}", 100] for i in range(50)]
