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
