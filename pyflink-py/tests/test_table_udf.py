"""Python scalar functions in SQL and the Table API (in thread and process mode): `@udf` on functions and
lambdas, `ScalarFunction` classes with `open`, registration by name for SQL, results checked
against the declared type, and a failing function's traceback in the job's error."""

import pytest

from pyflink_rs.table import DataTypes, ResultKind
from pyflink_rs.table.expressions import col, lit
from pyflink_rs.table.udf import ScalarFunction, udf
from table_helpers import MODES, rows, streaming




WORDS = [(1, "flink"), (2, "window"), (3, "timer")]


@pytest.mark.parametrize("mode", MODES)
def test_a_function_called_in_the_table_api_runs_on_each_row(mode):
    t_env = streaming(mode=mode)
    table = t_env.from_elements(WORDS, ["id", "word"])

    @udf(result_type=DataTypes.STRING())
    def shout(word, times):
        return word.upper() + "!" * times

    assert rows(table.select(col("id"), shout(col("word"), col("id")))) == [
        (1, "FLINK!"), (2, "WINDOW!!"), (3, "TIMER!!!")]
    has_n = udf(lambda word: "n" in word, result_type="boolean")
    assert rows(table.where(has_n(table.word)).select(col("id"))) == [(1,), (2,)]


def test_functions_feed_group_by_and_filters():
    t_env = streaming()
    table = t_env.from_elements([(i, "abc"[i % 3]) for i in range(9)], ["id", "letter"])
    double = udf(lambda n: n * 2, result_type=DataTypes.BIGINT())
    is_even = udf(lambda n: n % 2 == 0, result_type=DataTypes.BOOLEAN())
    totals = table.where(is_even(col("id"))).group_by(col("letter")).select(col("letter"), double(col("id")).sum)
    with totals.execute().collect() as results:
        final = {}
        for row in results:
            if row.get_row_kind().short_string() in ("+I", "+U"):
                final[row[0]] = row[1]
    # Even ids: 0 (a), 2 (c), 4 (b), 6 (a), 8 (c).
    assert final == {"a": 12, "b": 8, "c": 20}


class Suffix(ScalarFunction):
    def open(self, function_context):
        self.suffix = "-" + function_context.get_job_parameter("suffix", "x")

    def eval(self, word):
        return word + self.suffix


@pytest.mark.parametrize("mode", MODES)
def test_registered_functions_serve_sql_and_classes_open_first(mode):
    t_env = streaming(mode=mode)
    t_env.create_temporary_view("words", t_env.from_elements(WORDS, ["id", "word"]))
    t_env.create_temporary_system_function("suffixed", udf(Suffix(), result_type=DataTypes.STRING()))
    t_env.create_temporary_function("plus_one", udf(lambda n: n + 1, result_type=DataTypes.BIGINT()))
    table = t_env.sql_query("SELECT plus_one(id), suffixed(word) FROM words WHERE plus_one(id) > 2")
    assert rows(table) == [(3, "window-x"), (4, "timer-x")]
    with pytest.warns(DeprecationWarning):
        t_env.register_function("legacy", udf(lambda n: -n, result_type=DataTypes.BIGINT()))
    assert rows(t_env.sql_query("SELECT legacy(id) FROM words")) == [(-3,), (-2,), (-1,)]


@pytest.mark.parametrize("mode", MODES)
def test_a_failing_function_fails_the_job_with_its_traceback(mode):
    t_env = streaming(mode=mode)
    table = t_env.from_elements(WORDS, ["id", "word"])

    @udf(result_type=DataTypes.BIGINT())
    def broken(n):
        return n // (n - 2)

    with pytest.raises(Exception, match=r"(?s)broken.*ZeroDivisionError"):
        rows(table.select(broken(col("id"))))
    wrong = udf(lambda n: "text", result_type=DataTypes.BIGINT())
    with pytest.raises(Exception, match=r"returned text, which is not a BIGINT"):
        rows(table.select(wrong(col("id"))))
    with pytest.raises(TypeError, match="result_type"):
        udf(lambda n: n)
    assert rows(table.select(lit(1))) == [(1,), (1,), (1,)]


def test_sql_ddl_creates_python_functions_from_their_module_and_drops_them(tmp_path, monkeypatch):
    (tmp_path / "ddl_udfs.py").write_text(
        "from pyflink_rs.table import DataTypes\n"
        "from pyflink_rs.table.udf import udf\n"
        "add_one = udf(lambda x: x + 1, result_type=DataTypes.BIGINT())\n"
        "not_a_udf = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    t_env = streaming()
    created = t_env.execute_sql("CREATE TEMPORARY SYSTEM FUNCTION add_one AS 'ddl_udfs.add_one' LANGUAGE PYTHON")
    assert created.get_result_kind() == ResultKind.SUCCESS
    t_env.create_temporary_view("numbers", t_env.from_elements([(1,), (41,)], ["n"]))
    assert rows(t_env.sql_query("SELECT add_one(n) FROM numbers")) == [(2,), (42,)]
    t_env.execute_sql("DROP TEMPORARY SYSTEM FUNCTION add_one")
    with pytest.raises(Exception, match="add_one"):
        rows(t_env.sql_query("SELECT add_one(n) FROM numbers"))
    with pytest.raises(TypeError, match="'ddl_udfs.not_a_udf' is 42, not a function made with udf"):
        t_env.execute_sql("CREATE FUNCTION f AS 'ddl_udfs.not_a_udf' LANGUAGE PYTHON")
    with pytest.raises(Exception, match="need a JVM"):
        t_env.execute_sql("CREATE FUNCTION f AS 'com.example.F' LANGUAGE JAVA")
