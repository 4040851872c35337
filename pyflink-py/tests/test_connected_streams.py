"""ConnectedStreams: co-map, co-flat-map, co-process and keyed co-process functions, where the
two inputs share keyed state and timers."""

import collections
import random

import pytest

from pyflink_rs.common import Configuration, Types, WatermarkStrategy
from pyflink_rs.common.watermark_strategy import TimestampAssigner
from pyflink_rs.datastream import (
    CoFlatMapFunction,
    CoMapFunction,
    CoProcessFunction,
    KeyedCoProcessFunction,
    OutputTag,
    StreamExecutionEnvironment,
)
from pyflink_rs.datastream.state import ListStateDescriptor


@pytest.fixture
def env():
    environment = StreamExecutionEnvironment.get_execution_environment()
    environment.set_parallelism(2)
    return environment


class Label(CoMapFunction):
    def map1(self, value):
        return "number", value * 2

    def map2(self, value):
        return "word", value.upper()


def test_co_map_applies_each_inputs_function(env):
    numbers = env.from_collection([1, 2, 3])
    words = env.from_collection(["a", "b"])
    labelled = numbers.connect(words).map(Label())
    assert sorted(labelled.execute_and_collect()) == [("number", 2), ("number", 4), ("number", 6), ("word", "A"), ("word", "B")]


def test_co_map_runs_in_process_mode():
    config = Configuration().set_string("python.execution-mode", "process")
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(2)
    labelled = env.from_collection([5]).connect(env.from_collection(["x"])).map(Label())
    assert sorted(labelled.execute_and_collect()) == [("number", 10), ("word", "X")]


class Split(CoFlatMapFunction):
    def flat_map1(self, value):
        yield from value.split()

    def flat_map2(self, value):
        return [value] * value


def test_co_flat_map_emits_what_each_function_yields(env):
    result = env.from_collection(["a b", "c"]).connect(env.from_collection([2])).flat_map(Split())
    assert sorted(result.execute_and_collect(), key=str) == [2, 2, "a", "b", "c"]


REJECTED = OutputTag("rejected", Types.STRING())


class Gate(CoProcessFunction):
    def process_element1(self, value, ctx):
        yield value

    def process_element2(self, value, ctx):
        yield REJECTED, f"{value} rejected"


def test_co_process_functions_yield_results_and_side_outputs(env):
    gated = env.from_collection([1, 2]).connect(env.from_collection(["x"])).process(Gate())
    assert sorted(gated.execute_and_collect()) == [1, 2]
    assert list(gated.get_side_output(REJECTED).execute_and_collect()) == ["x rejected"]


class Second(TimestampAssigner):
    def extract_timestamp(self, value, record_timestamp):
        return value[1]


class JoinAtEnd(KeyedCoProcessFunction):
    """Keeps both inputs' values per key and emits them together when event time passes 1000."""

    def open(self, runtime_context):
        self.left = runtime_context.get_list_state(ListStateDescriptor("left", Types.PICKLED_BYTE_ARRAY()))
        self.right = runtime_context.get_list_state(ListStateDescriptor("right", Types.PICKLED_BYTE_ARRAY()))

    def process_element1(self, value, ctx):
        self.left.add(value[2])
        ctx.timer_service().register_event_time_timer(1000)

    def process_element2(self, value, ctx):
        self.right.add(value[2])
        ctx.timer_service().register_event_time_timer(1000)

    def on_timer(self, timestamp, ctx):
        yield ctx.get_current_key(), sorted(self.left.get()), sorted(self.right.get())


def test_keyed_co_process_shares_state_and_timers_between_inputs(env):
    rng = random.Random(5)
    orders = [(rng.choice("pqr"), t, f"order{t}") for t in range(40)]
    payments = [(rng.choice("pqrs"), t, f"pay{t}") for t in range(30)]
    strategy = WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner(Second())
    left = env.from_collection(orders).assign_timestamps_and_watermarks(strategy)
    right = env.from_collection(payments).assign_timestamps_and_watermarks(strategy)
    joined = left.connect(right).key_by(lambda o: o[0], lambda p: p[0]).process(JoinAtEnd())

    expected = collections.defaultdict(lambda: ([], []))
    for key, _, value in orders:
        expected[key][0].append(value)
    for key, _, value in payments:
        expected[key][1].append(value)
    assert sorted(joined.execute_and_collect()) == sorted(
        (key, sorted(left_values), sorted(right_values)) for key, (left_values, right_values) in expected.items()
    )


def test_connected_streams_check_their_function_types(env):
    connected = env.from_collection([1]).connect(env.from_collection([2]))
    with pytest.raises(TypeError, match="expected a CoMapFunction"):
        connected.map(lambda value: value)
    with pytest.raises(TypeError, match="expected a KeyedCoProcessFunction after key_by"):
        connected.key_by(lambda v: v, lambda v: v).process(Gate())
