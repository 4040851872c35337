"""PyFlink's `pyflink.common` helpers as PyFlink defines them: `Configuration`'s key set, bytes
(base64 text, as Flink keeps them), copies into dicts and list values; `Row.of_kind`; and the
job id of a `JobExecutionResult`."""

import pytest

from pyflink_rs.common import Configuration, Row, RowKind
from pyflink_rs.datastream import StreamExecutionEnvironment
from pyflink_rs.datastream.connectors import DiscardingSink


def test_configuration_keys_bytes_and_copies():
    config = Configuration().set_string("a", "1").set_bytearray("raw", bytearray(b"\x00\xffFlink"))
    assert config.key_set() == {"a", "raw"}
    assert config.get_string("raw", None) == "AP9GbGluaw=="
    assert config.get_bytearray("raw", None) == bytearray(b"\x00\xffFlink")
    assert config.get_bytearray("missing", b"default") == b"default"
    target = {"b": "2"}
    config.add_all_to_dict(target)
    assert target == {"a": "1", "b": "2", "raw": "AP9GbGluaw=="}


@pytest.mark.parametrize(
    "text, values",
    [
        ("a;b;c", ["a", "b", "c"]),
        (" a ; b ", ["a", "b"]),
        ("'x;y';z", ["x;y", "z"]),
        ("\"it's\";'say ''hi'''", ["it's", "say 'hi'"]),
        ("", []),
    ],
)
def test_list_values_are_read_as_flink_writes_them(text, values):
    assert Configuration.parse_list_value(text) == values


def test_an_unclosed_quote_in_a_list_value_is_refused():
    with pytest.raises(ValueError, match="unclosed quote"):
        Configuration.parse_list_value("'a;b")


def test_a_row_of_a_kind():
    row = Row.of_kind(RowKind.DELETE, 1, "a")
    assert tuple(row) == (1, "a") and row.get_row_kind() == RowKind.DELETE
    named = Row.of_kind(RowKind.UPDATE_AFTER, id=2)
    assert named.id == 2 and named.get_row_kind() == RowKind.UPDATE_AFTER


def test_the_result_of_a_job_has_the_id_of_its_client():
    env = StreamExecutionEnvironment.get_execution_environment()
    env.from_collection([1, 2, 3]).sink_to(DiscardingSink())
    client = env.execute_async("identified")
    result = client.get_job_execution_result().result()
    assert result.get_job_id() == client.get_job_id()
    assert str(result.get_job_id()) == client.get_job_id().to_hex_string()


def test_config_options_describe_typed_options_that_a_configuration_reads():
    from pyflink_rs.common import ConfigOptions

    retries = ConfigOptions.key("client.retries").int_type().default_value(3)
    name = ConfigOptions.key("pipeline.name").string_type().no_default_value()
    flag = ConfigOptions.key("pipeline.object-reuse").boolean_type().default_value(False)
    config = Configuration.from_dict({"client.retries": "7", "pipeline.object-reuse": "TRUE"})
    assert (config.get(retries), config.get(name), config.get(flag)) == (7, None, True)
    assert retries.key() == "client.retries" and retries.has_default_value() and not name.has_default_value()
    assert Configuration().get(retries) == 3
    config.set(flag, False).set_string("client.retries", "many")
    assert config.get_string("pipeline.object-reuse", None) == "false"
    with pytest.raises(ValueError, match="'client.retries' takes a int"):
        config.get(retries)


def test_sql_time_and_external_types_are_the_classes_pyflink_returns():
    from pyflink_rs.common import InputDependencyConstraint, Types
    from pyflink_rs.common.typeinfo import DateTypeInfo, ExternalTypeInfo, TimestampTypeInfo, TimeTypeInfo

    assert isinstance(Types.SQL_DATE(), DateTypeInfo) and isinstance(Types.SQL_TIME(), TimeTypeInfo)
    assert isinstance(Types.SQL_TIMESTAMP(), TimestampTypeInfo) and Types.SQL_DATE() != Types.SQL_TIME()
    external = ExternalTypeInfo(Types.ROW([Types.INT(), Types.STRING()]))
    assert external == ExternalTypeInfo(Types.ROW([Types.INT(), Types.STRING()]))
    assert repr(external) == "ExternalTypeInfo<RowTypeInfo(f0: Integer, f1: String)>"
    env = StreamExecutionEnvironment.get_execution_environment()
    rows = env.from_collection([(1, "a")], external)
    assert [tuple(row) for row in rows.execute_and_collect()] == [(1, "a")]
    assert [c.name for c in InputDependencyConstraint] == ["ANY", "ALL"]


def test_windowed_streams_know_their_environment_and_input_type():
    from pyflink_rs.common import Types
    from pyflink_rs.datastream.window import CountTumblingWindowAssigner

    env = StreamExecutionEnvironment.get_execution_environment()
    numbers = env.from_collection([1, 2], Types.INT())
    windowed = numbers.key_by(lambda v: v).window(CountTumblingWindowAssigner.of(2))
    assert windowed.get_execution_environment() is env and windowed.get_input_type() == Types.INT()
    assert numbers.key_by(lambda v: v).get_execution_environment() is env
    assert numbers.count_window_all(2).get_input_type() == Types.INT()


def test_durations_are_taken_in_every_form_pyflink_takes_them():
    from datetime import timedelta

    from pyflink_rs.common import Duration, RestartStrategies, Time
    from pyflink_rs.datastream.window import TumblingEventTimeWindows

    env = StreamExecutionEnvironment.get_execution_environment()
    config = env.get_checkpoint_config()
    for given in (Duration.of_seconds(2), Time.seconds(2), timedelta(seconds=2), 2000):
        config.set_checkpoint_timeout(given)
        assert config.get_checkpoint_timeout() == 2000
        assert repr(TumblingEventTimeWindows.of(given)) == "TumblingEventTimeWindows(2000, 0)"
    with pytest.raises(TypeError, match="checkpoint timeout must be a Duration, a timedelta or milliseconds"):
        config.set_checkpoint_timeout("2 s")
    with pytest.raises(ValueError, match="must not be negative"):
        RestartStrategies.fixed_delay_restart(3, timedelta(seconds=-1))
