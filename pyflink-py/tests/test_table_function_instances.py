"""Python functions of SQL per operator instance, in thread and process mode: each parallel
instance opens its own copy of a function (process mode: in a worker process) before its
first row and closes it after its last; `function_context.get_metric_group()` reaches the
instance's metrics, which the job's result shows; a failing call names the SQL expression
it was called from; what a function logs reaches the program's logging."""

import os
import re
import subprocess
import sys
import textwrap

import pytest

from pyflink_rs.table import DataTypes
from pyflink_rs.table.expressions import col
from pyflink_rs.table.udf import ScalarFunction, TableFunction, udf, udtf
from table_helpers import MODES, rows, streaming


class Logged(ScalarFunction):
    """Writes a line to `log` when it opens and when it closes, with the rows it saw."""

    def __init__(self, log):
        self.log = log

    def open(self, function_context):
        self.seen = 0
        self.rows = function_context.get_metric_group().add_group("udf").counter("rows")
        index = function_context.get_index_of_this_subtask()
        assert function_context.get_task_name_with_subtasks().endswith(
            f" ({index + 1}/{function_context.get_number_of_parallel_subtasks()})")
        with open(self.log, "a") as log:
            log.write(f"open {os.getpid()} {index} {function_context.get_task_name().split('(')[0]}\n")

    def eval(self, n):
        self.seen += 1
        self.rows.inc()
        return n * 10

    def close(self):
        with open(self.log, "a") as log:
            log.write(f"close {os.getpid()} {self.seen}\n")


# 0, 1, .., last, read by two instances of the source, which the function's operator
# follows instance by instance: both instances of the function get rows.
NUMBERS = """CREATE TABLE numbers (n BIGINT) WITH ('connector' = 'datagen', 'fields.n.kind' = 'sequence',
    'fields.n.start' = '0', 'fields.n.end' = '{last}')"""


def log_lines(path):
    return [line.split() for line in path.read_text().splitlines()]


@pytest.mark.parametrize("mode", MODES)
def test_each_operator_instance_opens_and_closes_its_own_function(mode, tmp_path):
    t_env = streaming(2, mode=mode)
    log = tmp_path / "log"
    t_env.create_temporary_function("tenfold", udf(Logged(str(log)), result_type=DataTypes.BIGINT()))
    t_env.execute_sql(NUMBERS.format(last=39))
    assert rows(t_env.sql_query("SELECT tenfold(n) FROM numbers")) == [(n * 10,) for n in range(40)]
    lines = log_lines(log)
    opened = [pid for kind, pid, *_ in lines if kind == "open"]
    assert sorted((index, task) for kind, _, index, task in (line for line in lines if line[0] == "open")) == [
        ("0", "Calc"), ("1", "Calc")]
    closed = [(pid, int(seen)) for kind, pid, seen in (line for line in lines if line[0] == "close")]
    # The query's Calc runs in two instances: two copies, each closed after its rows.
    assert len(opened) == 2 and len(closed) == 2, lines
    assert sum(seen for _, seen in closed) == 40
    in_this_process = {str(os.getpid())}
    if mode == "thread":
        assert set(opened) == in_this_process
    else:
        assert not set(opened) & in_this_process and len(set(opened)) == 2, "a worker process per instance"


@pytest.mark.parametrize("mode", MODES)
def test_metrics_of_functions_reach_the_jobs_result(mode, tmp_path):
    t_env = streaming(2, mode=mode)
    t_env.create_temporary_function("tenfold", udf(Logged(str(tmp_path / "log")), result_type=DataTypes.BIGINT()))
    t_env.execute_sql(NUMBERS.format(last=49))
    t_env.execute_sql("CREATE TABLE sink (n BIGINT) WITH ('connector' = 'blackhole')")
    client = t_env.execute_sql("INSERT INTO sink SELECT tenfold(n) FROM numbers").get_job_client()
    metrics = client.get_job_execution_result().result().get_metrics()
    counted = {name: value for name, value in metrics.items() if name.endswith(".udf.rows")}
    assert len(counted) == 2, metrics.keys()
    assert sum(counted.values()) == 50


@pytest.mark.parametrize("mode", MODES)
def test_a_table_functions_instances_open_with_their_metric_group(mode):
    t_env = streaming(1, mode=mode)

    class Words(TableFunction):
        def open(self, function_context):
            self.words = function_context.get_metric_group().counter("words")

        def eval(self, line):
            for word in line.split():
                self.words.inc()
                yield word, self.words.get_count()

    split = udtf(Words(), result_types=[DataTypes.STRING(), DataTypes.BIGINT()])
    table = t_env.from_elements([("a b",), ("c",)], ["line"])
    assert rows(table.join_lateral(split(col("line")).alias("word", "seen")).select(col("word"), col("seen"))) == [
        ("a", 1), ("b", 2), ("c", 3)]


@pytest.mark.parametrize("mode", MODES)
def test_a_failing_call_names_the_expression_it_was_called_from(mode):
    t_env = streaming(1, mode=mode)
    t_env.create_temporary_function("inverse", udf(lambda n: 1 / n, result_type=DataTypes.DOUBLE()))
    t_env.create_temporary_view("numbers", t_env.from_elements([(1,), (0,)], ["n"]))
    with pytest.raises(Exception, match=r"(?s)in the expression inverse\(n\).*'inverse'.*ZeroDivisionError"):
        rows(t_env.sql_query("SELECT n, inverse(n) AS i FROM numbers"))


LOGGING_JOB = """
import logging
from pyflink_rs.table import DataTypes, EnvironmentSettings, TableEnvironment
from pyflink_rs.table.udf import udf

logging.basicConfig(level=logging.INFO)
t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
t_env.get_config().set("parallelism.default", "1")
t_env.get_config().set("python.execution-mode", "{mode}")

@udf(result_type=DataTypes.BIGINT())
def noted(value):
    logging.getLogger("udf").info("handling %s", value)
    logging.getLogger("udf").debug("not shown %s", value)
    return value

t_env.create_temporary_function("noted", noted)
t_env.execute_sql("SELECT noted(5)").print()
"""


@pytest.mark.parametrize("mode", MODES)
def test_what_a_function_logs_reaches_the_programs_logging(mode):
    run = subprocess.run([sys.executable, "-c", LOGGING_JOB.format(mode=mode)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "udf" in run.stderr and "handling 5" in run.stderr, run.stderr
    assert "not shown" not in run.stderr
    assert re.search(r"\|\s+5\s+\|", run.stdout), run.stdout
