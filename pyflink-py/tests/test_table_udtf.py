"""Python table functions (SQL's in thread and process mode): `@udtf` generators and `TableFunction` classes in SQL
(`LATERAL TABLE`, cross and `LEFT JOIN .. ON TRUE`), `Table.flat_map` of whole rows,
`join_lateral` / `left_outer_join_lateral`, `Table.map` of a ROW-typed `@udf`, and a failing
table function's error."""

import pytest

from pyflink_rs.common import Row
from pyflink_rs.table import DataTypes
from pyflink_rs.table.expressions import col
from pyflink_rs.table.udf import TableFunction, udf, udtf
from table_helpers import MODES, rows, streaming




LINES = [(1, "to be or"), (2, ""), (3, "not to be")]


@udtf(result_types=[DataTypes.STRING(), DataTypes.INT()])
def split(line):
    for word in line.split():
        yield word, len(word)


@pytest.mark.parametrize("mode", MODES)
def test_sql_joins_rows_with_what_a_table_function_yields(mode):
    t_env = streaming(mode=mode)
    t_env.create_temporary_view("lines", t_env.from_elements(LINES, ["id", "line"]))
    t_env.create_temporary_function("split", split)
    cross = t_env.sql_query("SELECT id, word, n FROM lines, LATERAL TABLE(split(line)) AS T(word, n)")
    assert rows(cross) == [(1, "be", 2), (1, "or", 2), (1, "to", 2), (3, "be", 2), (3, "not", 3), (3, "to", 2)]
    left = t_env.sql_query(
        "SELECT id, word FROM lines LEFT JOIN LATERAL TABLE(split(line)) AS T(word, n) ON TRUE WHERE id < 3")
    assert rows(left) == [(1, "be"), (1, "or"), (1, "to"), (2, None)]
    counts = t_env.sql_query(
        "SELECT word, COUNT(*) AS c FROM lines, LATERAL TABLE(split(line)) AS T(word, n) GROUP BY word")
    with counts.execute().collect() as results:
        final = {}
        for row in results:
            final[row[0]] = row[1]
    assert final == {"to": 2, "be": 2, "or": 1, "not": 1}


def test_the_table_api_flat_maps_whole_rows_and_joins_laterally():
    t_env = streaming()
    table = t_env.from_elements(LINES, ["id", "line"])

    @udtf(result_types=[DataTypes.BIGINT(), DataTypes.STRING()])
    def words_of(row: Row):
        return [Row(row.id, word) for word in row.line.split()]

    assert rows(table.flat_map(words_of).alias("id", "word").where(col("id") == 1)) == [
        (1, "be"), (1, "or"), (1, "to")]

    class Initials(TableFunction):
        def open(self, function_context):
            self.suffix = "."

        def eval(self, line):
            for word in line.split():
                yield word[0] + self.suffix

    initials = udtf(Initials(), result_types=DataTypes.STRING())
    joined = table.join_lateral(initials(col("line")).alias("initial")).select(col("id"), col("initial"))
    assert rows(joined) == [(1, "b."), (1, "o."), (1, "t."), (3, "b."), (3, "n."), (3, "t.")]
    padded = table.left_outer_join_lateral(initials(col("line")).alias("initial")).select(col("id"), col("initial"))
    assert (2, None) in rows(padded)


def test_map_gives_the_fields_of_a_row_result_as_columns():
    t_env = streaming()
    table = t_env.from_elements(LINES, ["id", "line"])

    @udf(result_type=DataTypes.ROW([DataTypes.FIELD("id", DataTypes.BIGINT()),
                                    DataTypes.FIELD("words", DataTypes.INT())]))
    def count_words(row: Row):
        return Row(row.id, len(row.line.split()))

    mapped = table.map(count_words)
    assert mapped.get_schema().get_field_names() == ["id", "words"]
    assert rows(mapped) == [(1, 3), (2, 0), (3, 3)]


def test_a_failing_table_function_fails_the_job_with_its_traceback():
    t_env = streaming()
    table = t_env.from_elements(LINES, ["id", "line"])

    @udtf(result_types=[DataTypes.STRING()])
    def broken(line):
        yield line[100]

    with pytest.raises(Exception) as failure:
        rows(table.join_lateral(broken(col("line"))))
    assert "broken" in str(failure.value) and "IndexError" in str(failure.value)
