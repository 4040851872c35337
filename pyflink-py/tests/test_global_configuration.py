"""`$FLINK_CONF_DIR/config.yaml` (or `flink-conf.yaml`) sets the options every environment of a
program starts with, as in PyFlink; the program's own settings win; a stream environment's
settings hold for the table environment made of it."""

import pytest

from pyflink_rs.common import global_configuration
from pyflink_rs.datastream import StreamExecutionEnvironment
from pyflink_rs.table import StreamTableEnvironment


def test_nested_and_flat_yaml_read_as_flinks_dotted_keys():
    text = """
# Flink 2's nested form
execution:
  checkpointing:
    interval: 10 s   # a comment
    dir: "file:///tmp/a #b"
parallelism.default: 3
pipeline.jars: [a.jar, 'b.jar']
env.java.opts.all:
  - -Xmx1g
  - -Dx=1
"""
    assert global_configuration.parse(text) == {
        "execution.checkpointing.interval": "10 s",
        "execution.checkpointing.dir": "file:///tmp/a #b",
        "parallelism.default": "3",
        "pipeline.jars": "a.jar;b.jar",
        "env.java.opts.all": "-Xmx1g;-Dx=1",
    }


@pytest.mark.parametrize("text, problem", [
    ("key value", "expected 'key: value'"),
    ("a: 'open", "closing quote"),
    ("a: {b: 1}", "mapping on the lines below"),
    ("- x", "list item outside a list"),
])
def test_what_cannot_be_read_is_named_with_its_line(text, problem):
    with pytest.raises(ValueError, match=problem) as raised:
        global_configuration.parse("fine: 1\n" + text, "conf/config.yaml")
    assert "conf/config.yaml, line 2" in str(raised.value)


def test_environments_start_with_the_files_options_and_the_program_overrides_them(tmp_path, monkeypatch):
    (tmp_path / "flink-conf.yaml").write_text("parallelism.default: 3\npython.execution-mode: process\n")
    monkeypatch.setenv("FLINK_CONF_DIR", str(tmp_path))
    env = StreamExecutionEnvironment.get_execution_environment()
    assert env.get_parallelism() == 3
    assert env._options["python.execution-mode"] == "process"
    env.set_parallelism(2)
    t_env = StreamTableEnvironment.create(env)
    assert t_env.get_config().get("parallelism.default") == "2"
    assert t_env.get_config().get("python.execution-mode") == "process"
    (tmp_path / "config.yaml").write_text("parallelism:\n  default: 5\n")
    assert StreamExecutionEnvironment.get_execution_environment().get_parallelism() == 5


def test_checkpointing_enabled_on_the_stream_environment_holds_for_its_table_jobs(tmp_path):
    env = StreamExecutionEnvironment.get_execution_environment()
    env.enable_checkpointing(100)
    t_env = StreamTableEnvironment.create(env)
    t_env.get_config().set("execution.checkpointing.dir", f"file://{tmp_path}")
    t_env.get_config().set("execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION")
    t_env.execute_sql("CREATE TABLE slow (n BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '20', "
                      "'number-of-rows' = '10')")
    t_env.execute_sql("CREATE TABLE out (n BIGINT) WITH ('connector' = 'blackhole')")
    t_env.execute_sql("INSERT INTO out SELECT n FROM slow").wait()
    assert list(tmp_path.glob("*/chk-*/_metadata")), "the table job took no checkpoint"
