"""Values of Flink's types crossing between queries and Python: the rows of results, what
`print()` shows of them, and the arguments and results of Python functions (DECIMAL, DATE,
TIMESTAMP, BYTES, ARRAY, MAP and ROW, beside numbers and strings)."""

import datetime
from decimal import Decimal

from pyflink_rs.table import DataTypes, EnvironmentSettings, TableEnvironment
from pyflink_rs.table.udf import AggregateFunction, udaf, udf
from table_helpers import streaming

VALUES = (
    "SELECT CAST('12.34' AS DECIMAL(10, 2)) AS price, DATE '2024-02-28' AS day, "
    "TIMESTAMP '2024-01-02 03:04:05.123' AS ts, ARRAY[1, 2, 3] AS xs, X'cafe' AS raw"
)


def test_results_hold_decimals_dates_timestamps_arrays_and_bytes():
    with streaming(1).execute_sql(VALUES).collect() as rows:
        [row] = list(rows)
    assert row[0] == Decimal("12.34") and isinstance(row[0], Decimal)
    assert row[1] == datetime.date(2024, 2, 28)
    assert row[2] == datetime.datetime(2024, 1, 2, 3, 4, 5, 123000)
    assert row[3] == [1, 2, 3]
    assert row[4] == b"\xca\xfe"


def test_print_shows_them_as_flink_does(capsys):
    streaming(1).execute_sql(VALUES).print()
    cells = [cell.strip() for cell in capsys.readouterr().out.splitlines()[3].split("|")[1:-1]]
    assert cells == ["+I", "12.34", "2024-02-28", "2024-01-02 03:04:05.123", "[1, 2, 3]", "x'cafe'"]


def test_python_functions_take_and_give_them():
    t_env = streaming(1)

    @udf(result_type=DataTypes.DECIMAL(10, 2))
    def with_fee(price):
        return price + Decimal("1.05")

    @udf(result_type=DataTypes.DATE())
    def next_day(day):
        return day + datetime.timedelta(days=1)

    @udf(result_type=DataTypes.ARRAY(DataTypes.BIGINT()))
    def doubled(xs):
        return [x * 2 for x in xs] + [None]

    @udf(result_type=DataTypes.MAP(DataTypes.STRING(), DataTypes.BIGINT()))
    def named(xs):
        return {f"n{x}": x for x in xs}

    @udf(result_type=DataTypes.BYTES())
    def reversed_bytes(raw):
        return raw[::-1]

    @udf(result_type=DataTypes.TIMESTAMP(3))
    def a_second_later(ts):
        return ts + datetime.timedelta(seconds=1)

    functions = {"with_fee": with_fee, "next_day": next_day, "doubled": doubled, "named": named,
                 "reversed_bytes": reversed_bytes, "a_second_later": a_second_later}
    for name, function in functions.items():
        t_env.create_temporary_system_function(name, function)
    query = (
        f"SELECT with_fee(price), next_day(day), doubled(xs), named(xs), reversed_bytes(raw), "
        f"a_second_later(ts) FROM ({VALUES})"
    )
    with t_env.execute_sql(query).collect() as rows:
        [row] = list(rows)
    assert list(row) == [
        Decimal("13.39"), datetime.date(2024, 2, 29), [2, 4, 6, None], {"n1": 1, "n2": 2, "n3": 3}, b"\xfe\xca",
        datetime.datetime(2024, 1, 2, 3, 4, 6, 123000),
    ]


def test_a_result_that_does_not_fit_says_which_function_and_value():
    t_env = streaming(1)

    @udf(result_type=DataTypes.ARRAY(DataTypes.BIGINT()))
    def words(xs):
        return [str(x) for x in xs]

    t_env.create_temporary_system_function("words", words)
    try:
        t_env.execute_sql(f"SELECT words(xs) FROM ({VALUES})").print()
    except Exception as error:
        message = str(error)
    else:
        raise AssertionError("a list of strings went into an ARRAY<BIGINT>")
    assert "the Python function 'words' returned ['1', '2', '3'], which is not a ARRAY<BIGINT>" in message
    assert "item 0" in message


class Total(AggregateFunction):
    """The total of DECIMAL prices and the days they were paid on."""

    def create_accumulator(self):
        return [Decimal("0"), []]

    def accumulate(self, accumulator, price, day):
        accumulator[0] += price
        accumulator[1].append(day)

    def get_value(self, accumulator):
        return (accumulator[0], sorted(accumulator[1]))


def test_aggregate_functions_take_and_give_them_too():
    t_env = TableEnvironment.create(EnvironmentSettings.in_batch_mode())
    result_type = DataTypes.ROW([DataTypes.FIELD("total", DataTypes.DECIMAL(10, 2)),
                                 DataTypes.FIELD("days", DataTypes.ARRAY(DataTypes.DATE()))])
    t_env.create_temporary_system_function("total", udaf(Total(), result_type=result_type))
    query = ("SELECT total(price, day) AS t FROM (VALUES (CAST('1.10' AS DECIMAL(10, 2)), DATE '2024-03-02'), "
             "(CAST('2.25' AS DECIMAL(10, 2)), DATE '2024-03-01')) AS v(price, day)")
    with t_env.execute_sql(query).collect() as rows:
        [row] = list(rows)
    assert tuple(row[0]) == (Decimal("3.35"), [datetime.date(2024, 3, 1), datetime.date(2024, 3, 2)])
