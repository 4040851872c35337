"""A KeyedStream is a DataStream, as in PyFlink: `flat_map` and `filter` run keyed (a rich
function's keyed state is the key's), `print`, `sink_to`, `union` and `execute_and_collect` take
the records as they are, two keyed streams connect keyed, and what only an operator has (a name,
a parallelism) is refused. In thread and process mode."""

import pytest

from pyflink_rs.common import Configuration, Types
from pyflink_rs.datastream import (
    DataStream,
    DataStreamSink,
    FlatMapFunction,
    KeyedCoProcessFunction,
    StreamExecutionEnvironment,
)
from pyflink_rs.datastream.connectors import DiscardingSink
from pyflink_rs.datastream.state import ValueStateDescriptor


def environment(mode):
    config = Configuration().set_string("python.execution-mode", mode)
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(2)
    return env


class CountPerKey(FlatMapFunction):
    """Each record with how many records of its key came so far, in keyed state."""

    def open(self, runtime_context):
        self.count = runtime_context.get_state(ValueStateDescriptor("count", Types.LONG()))

    def flat_map(self, value):
        seen = (self.count.value() or 0) + 1
        self.count.update(seen)
        yield value[0], seen


WORDS = [("a", 1), ("b", 2), ("a", 3), ("c", 4), ("a", 5), ("b", 6)]


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_flat_map_and_filter_run_keyed_with_the_keys_state(mode):
    env = environment(mode)
    keyed = env.from_collection(WORDS).key_by(lambda pair: pair[0])
    assert isinstance(keyed, DataStream)
    counted = sorted(keyed.flat_map(CountPerKey()).execute_and_collect())
    assert counted == [("a", 1), ("a", 2), ("a", 3), ("b", 1), ("b", 2), ("c", 1)]
    kept = sorted(env.from_collection(WORDS).key_by(lambda pair: pair[0]).filter(lambda p: p[1] > 2)
                  .execute_and_collect())
    assert kept == [("a", 3), ("a", 5), ("b", 6), ("c", 4)]


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_records_of_a_keyed_stream_are_printed_collected_and_unioned_as_they_are(mode, capfd):
    env = environment(mode)
    keyed = env.from_collection(WORDS).key_by(lambda pair: pair[0])
    assert sorted(keyed.execute_and_collect()) == sorted(WORDS)
    both = keyed.union(env.from_collection([("z", 0)]))
    assert sorted(both.execute_and_collect()) == sorted(WORDS + [("z", 0)])
    env = environment(mode)
    sink = env.from_collection([("x", 1)]).key_by(lambda pair: pair[0]).print()
    assert isinstance(sink, DataStreamSink)
    env.execute("print keyed")
    assert "('x', 1)" in capfd.readouterr().out


def test_two_keyed_streams_connect_keyed():
    class Join(KeyedCoProcessFunction):
        def open(self, runtime_context):
            self.left = runtime_context.get_state(ValueStateDescriptor("left", Types.LONG()))

        def process_element1(self, value, ctx):
            self.left.update(value[1])

        def process_element2(self, value, ctx):
            yield ctx.get_current_key(), self.left.value(), value[1]

    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(1)
    left = env.from_collection([("a", 1), ("b", 2)]).key_by(lambda p: p[0])
    right = env.from_collection([("a", 10), ("b", 20)]).key_by(lambda p: p[0])
    # The right side waits until the left one has been read: one collection after the other.
    joined = sorted(left.connect(right).process(Join()).execute_and_collect())
    assert {key for key, _, _ in joined} == {"a", "b"}
    assert all(left_value in (None, {"a": 1, "b": 2}[key]) for key, left_value, _ in joined), joined


def test_a_keyed_stream_has_no_operator_to_name_or_scale():
    env = StreamExecutionEnvironment.get_execution_environment()
    keyed = env.from_collection(WORDS).key_by(lambda pair: pair[0])
    for call in (lambda: keyed.name("x"), lambda: keyed.set_parallelism(2), lambda: keyed.uid("u")):
        with pytest.raises(Exception, match="not supported on a KeyedStream"):
            call()
    assert keyed.rebalance().sink_to(DiscardingSink()) is not None
