"""The DataStream API of the installed package: transformations, keyed reduce, sinks and
failures, each checked against what plain Python computes for the same input."""

import collections

import pytest

from pyflink_rs.common import Types

from pyflink_rs.datastream import (
    FilterFunction,
    FlatMapFunction,
    KeySelector,
    MapFunction,
    ReduceFunction,
    StreamExecutionEnvironment,
)


@pytest.fixture
def env():
    environment = StreamExecutionEnvironment.get_execution_environment()
    environment.set_parallelism(1)
    return environment


def test_map_filter_flat_map_keep_order_on_one_worker(env):
    words = ["to be", "or not", "to be"]
    result = list(
        env.from_collection(words)
        .flat_map(lambda line: line.split())
        .filter(lambda word: word != "or")
        .map(lambda word: word.upper())
        .execute_and_collect()
    )
    assert result == ["TO", "BE", "NOT", "TO", "BE"]


def test_function_classes_are_called_by_their_method(env):
    class Double(MapFunction):
        def map(self, value):
            return value * 2

    class Odd(FilterFunction):
        def filter(self, value):
            return value % 2 == 1

    class Repeat(FlatMapFunction):
        def flat_map(self, value):
            yield value
            yield value

    result = list(env.from_collection(range(6)).filter(Odd()).flat_map(Repeat()).map(Double()).execute_and_collect())
    assert result == [2, 2, 6, 6, 10, 10]


def test_records_stay_python_objects(env):
    class Point:
        def __init__(self, x, y):
            self.x, self.y = x, y

    points = [Point(1, 2), Point(3, 4)]
    result = list(env.from_collection(points).map(lambda p: (type(p).__name__, p.x + p.y)).execute_and_collect())
    assert result == [("Point", 3), ("Point", 7)]


def test_rolling_reduce_per_key_matches_python(env):
    env.set_parallelism(2)
    events = [(f"k{i % 5}", i) for i in range(200)]
    reduced = list(
        env.from_collection(events)
        .key_by(lambda event: event[0])
        .reduce(lambda a, b: (a[0], a[1] + b[1]))
        .execute_and_collect()
    )
    # A rolling reduce emits one result per record; the last per key is the key's sum.
    assert len(reduced) == len(events)
    expected = collections.Counter()
    for key, value in events:
        expected[key] += value
    final = {}
    for key, total in reduced:
        final[key] = max(final.get(key, 0), total)
    assert final == dict(expected)


def test_reduce_and_key_selector_classes(env):
    class First(KeySelector):
        def get_key(self, value):
            return value[0]

    class Longest(ReduceFunction):
        def reduce(self, value1, value2):
            return max(value1, value2, key=lambda v: len(v[1]))

    data = [("a", "x"), ("b", "yy"), ("a", "zzz"), ("b", "w")]
    result = list(env.from_collection(data).key_by(First()).reduce(Longest()).execute_and_collect())
    assert result == [("a", "x"), ("b", "yy"), ("a", "zzz"), ("b", "yy")]


def test_keys_of_many_kinds_group_equal_values(env):
    env.set_parallelism(2)
    keys = [None, True, 3, "three", b"3", (1, "a"), 2**80, 1.5, frozenset({1})]
    data = [(key, 1) for key in keys for _ in range(3)]
    result = list(
        env.from_collection(data)
        .key_by(lambda event: event[0])
        .reduce(lambda a, b: (a[0], a[1] + b[1]))
        .execute_and_collect()
    )
    final = collections.defaultdict(int)
    for key, count in result:
        final[repr(key)] = max(final[repr(key)], count)
    assert final == {repr(key): 3 for key in keys}


def test_keyed_map(env):
    result = list(env.from_collection([1, 2, 3]).key_by(lambda v: v % 2).map(lambda v: v + 10).execute_and_collect())
    assert result == [11, 12, 13]


def test_parallel_map_loses_and_duplicates_nothing(env):
    env.set_parallelism(2)
    result = (
        env.from_collection(range(1000))
        .map(lambda v: v)
        .set_parallelism(1)
        .key_by(lambda v: v % 7)
        .map(lambda v: v * 3)
        .execute_and_collect()
    )
    assert sorted(result) == [v * 3 for v in range(1000)]


def test_collect_with_limit_returns_a_list(env):
    assert env.from_collection([5, 6, 7]).map(lambda v: v).execute_and_collect(limit=2) == [5, 6]


def test_print_writes_each_record_to_stdout(env, capfd):
    env.from_collection([1, 2, 3]).map(lambda v: {"value": v}).print()
    env.execute("print job")
    out = capfd.readouterr().out
    assert out.splitlines() == ["{'value': 1}", "{'value': 2}", "{'value': 3}"]


def test_execute_without_a_sink_says_what_to_add(env):
    env.from_collection([1]).map(lambda v: v)
    with pytest.raises(Exception, match="no sinks are defined"):
        env.execute("nothing")


def test_python_exception_fails_the_job_with_traceback_and_operator():
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(1)

    def explode(value):
        if value == 3:
            raise ValueError(f"cannot handle {value}")
        return value

    with pytest.raises(Exception) as failure:
        list(env.from_collection([1, 2, 3]).map(explode).execute_and_collect())
    message = str(failure.value)
    assert "ValueError: cannot handle 3" in message
    assert "in explode" in message  # the traceback's frame
    assert "Map" in message  # the operator


def test_invalid_parallelism_is_rejected(env):
    with pytest.raises(ValueError, match="at least 1"):
        env.set_parallelism(0)
    with pytest.raises(Exception, match="collection source is not parallel"):
        env.from_collection([1]).set_parallelism(2)


def test_non_callable_function_is_a_type_error(env):
    with pytest.raises(TypeError, match="MapFunction or a callable"):
        env.from_collection([1]).map(42)


def test_number_sequence_source_is_parallel_and_complete(env):
    from pyflink_rs.common import WatermarkStrategy
    from pyflink_rs.datastream.connectors import NumberSequenceSource

    env.set_parallelism(2)
    numbers = env.from_source(NumberSequenceSource(1, 1000), WatermarkStrategy.no_watermarks(), "numbers")
    assert sorted(numbers.map(lambda n: n * 2).execute_and_collect()) == [n * 2 for n in range(1, 1001)]
    with pytest.raises(ValueError, match="cannot start"):
        NumberSequenceSource(5, 1)


def test_discarding_sink_runs_the_job_and_prints_nothing(env, capfd, tmp_path):
    from pyflink_rs.datastream.connectors import DiscardingSink

    marker = tmp_path / "ran"

    def touch(value):
        with open(marker, "a") as out:
            out.write(f"{value}\n")
        return value

    env.from_collection([1, 2, 3]).map(touch).sink_to(DiscardingSink())
    env.execute("discard")
    assert capfd.readouterr().out == ""
    assert marker.read_text().split() == ["1", "2", "3"]


def test_a_breakpoint_in_a_function_stops_there_in_thread_mode(tmp_path):
    """PyFlink documents debugging functions with breakpoints in local thread mode: pdb runs
    in the worker thread, with the function's locals."""
    import subprocess
    import sys
    import textwrap

    script = tmp_path / "debugged.py"
    script.write_text(
        textwrap.dedent(
            """
            from pyflink_rs.datastream import StreamExecutionEnvironment

            env = StreamExecutionEnvironment.get_execution_environment()
            env.set_parallelism(1)

            def inspect(value):
                marker = value * 1000
                breakpoint()
                return value + 1

            env.from_collection([7]).map(inspect).print()
            env.execute("debugged")
            """
        )
    )
    run = subprocess.run(
        [sys.executable, str(script)], input="p marker\nc\n", capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert "(Pdb) 7000" in run.stdout and run.stdout.rstrip().endswith("8"), run.stdout


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_batch_mode_reduces_emit_only_each_keys_final_result(mode):
    from pyflink_rs.common import Configuration
    from pyflink_rs.datastream import RuntimeExecutionMode

    config = Configuration().set_string("python.execution-mode", mode)
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(2)
    env.set_runtime_mode(RuntimeExecutionMode.BATCH)
    words = ["a", "b", "a", "c", "a", "b"]
    counts = env.from_collection(words).map(lambda w: (w, 1)).key_by(lambda p: p[0]).reduce(
        lambda x, y: (x[0], x[1] + y[1])
    )
    assert sorted(counts.execute_and_collect()) == [("a", 3), ("b", 2), ("c", 1)]
    env.set_runtime_mode(RuntimeExecutionMode.STREAMING)
    assert len(list(counts.execute_and_collect())) == len(words)


class Scaled(MapFunction):
    """Multiplies by a factor set in open(); close() leaves a file behind."""

    def __init__(self, closed_marker):
        self.closed_marker = closed_marker

    def open(self, runtime_context):
        self.factor = 10 + runtime_context.get_number_of_parallel_subtasks()

    def map(self, value):
        return value * self.factor

    def close(self):
        with open(self.closed_marker, "a") as marker:
            marker.write("closed\n")


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_function_classes_are_opened_before_and_closed_after_their_records(mode, tmp_path):
    from pyflink_rs.common import Configuration

    config = Configuration().set_string("python.execution-mode", mode)
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(1)
    marker = tmp_path / "closed.txt"
    doubled = env.from_collection([1, 2]).map(Scaled(str(marker)))
    assert list(doubled.execute_and_collect()) == [11, 22]
    assert marker.read_text() == "closed\n"


def test_a_map_function_after_key_by_keeps_keyed_state(env):
    from pyflink_rs.datastream.state import ValueStateDescriptor

    class Numbered(MapFunction):
        def open(self, runtime_context):
            self.seen = runtime_context.get_state(ValueStateDescriptor("seen", Types.LONG()))

        def map(self, value):
            count = (self.seen.value() or 0) + 1
            self.seen.update(count)
            return value, count

    words = ["a", "b", "a", "a", "b"]
    numbered = env.from_collection(words).key_by(lambda w: w).map(Numbered())
    assert sorted(numbered.execute_and_collect()) == [("a", 1), ("a", 2), ("a", 3), ("b", 1), ("b", 2)]

    class Unkeyed(MapFunction):
        def open(self, runtime_context):
            self.seen = runtime_context.get_state(ValueStateDescriptor("seen", Types.LONG()))

        def map(self, value):
            return value

    with pytest.raises(Exception, match="keyed state can only be used on a keyed stream"):
        list(env.from_collection(words).map(Unkeyed()).execute_and_collect())
