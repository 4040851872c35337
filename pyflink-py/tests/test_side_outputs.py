"""ProcessFunctions on streams that are not keyed, and side outputs: `yield output_tag, value`
from process, keyed process and window functions, and the late data of windows."""

import time

import pytest

from pyflink_rs.common import Duration, Time, Types, WatermarkStrategy
from pyflink_rs.common.watermark_strategy import TimestampAssigner
from pyflink_rs.datastream import (
    AggregateFunction,
    KeyedProcessFunction,
    OutputTag,
    ProcessFunction,
    ProcessWindowFunction,
    StreamExecutionEnvironment,
)
from pyflink_rs.datastream.connectors import NumberSequenceSource
from pyflink_rs.datastream.state import ValueStateDescriptor
from pyflink_rs.datastream.window import TumblingEventTimeWindows

ODD = OutputTag("odd", Types.STRING())


@pytest.fixture
def env():
    environment = StreamExecutionEnvironment.get_execution_environment()
    environment.set_parallelism(2)
    return environment


class SplitOdd(ProcessFunction):
    """Even numbers go on as they are, odd ones as text to the side output."""

    def process_element(self, value, ctx):
        if value % 2:
            yield ODD, f"odd {value}"
        else:
            yield value * 10


def test_a_process_function_splits_a_stream_into_main_and_side_outputs(env):
    main = env.from_collection(list(range(10))).process(SplitOdd(), Types.LONG())
    side = main.get_side_output(ODD)
    assert sorted(main.execute_and_collect()) == [0, 20, 40, 60, 80]
    assert sorted(side.execute_and_collect()) == sorted(f"odd {n}" for n in range(1, 10, 2))


def test_side_outputs_nobody_reads_are_dropped(env):
    assert sorted(env.from_collection(list(range(6))).process(SplitOdd()).execute_and_collect()) == [0, 20, 40]


def test_side_output_values_are_converted_to_the_tags_type(env):
    floats = OutputTag("floats", Types.FLOAT())

    class Halves(ProcessFunction):
        def process_element(self, value, ctx):
            yield floats, value / 3

    side = env.from_collection([1]).process(Halves()).get_side_output(floats)
    # FLOAT is 32 bits, as in PyFlink.
    assert list(side.execute_and_collect()) == [pytest.approx(1 / 3, rel=1e-6)]
    assert list(side.execute_and_collect()) != [1 / 3]


class Stamped(TimestampAssigner):
    def extract_timestamp(self, value, record_timestamp):
        return value[1]


def test_a_process_function_sees_the_timestamp_of_each_record(env):
    class Times(ProcessFunction):
        def process_element(self, value, ctx):
            yield value[0], ctx.timestamp(), ctx.timer_service().current_processing_time() > 0

    strategy = WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner(Stamped())
    stream = env.from_collection([("a", 5), ("b", 7)]).assign_timestamps_and_watermarks(strategy)
    assert sorted(stream.process(Times()).execute_and_collect()) == [("a", 5, True), ("b", 7, True)]


def test_state_and_timers_on_a_stream_that_is_not_keyed_are_clear_errors(env):
    class Stateful(ProcessFunction):
        def open(self, runtime_context):
            self.count = runtime_context.get_state(ValueStateDescriptor("count", Types.LONG()))

        def process_element(self, value, ctx):
            yield value

    class Timers(ProcessFunction):
        def process_element(self, value, ctx):
            ctx.timer_service().register_event_time_timer(10)
            yield value

    with pytest.raises(Exception, match="keyed state can only be used on a keyed stream"):
        list(env.from_collection([1]).process(Stateful()).execute_and_collect())
    with pytest.raises(Exception, match="timers can only be set on a keyed stream"):
        list(env.from_collection([1]).process(Timers()).execute_and_collect())


def test_keyed_process_and_window_functions_yield_to_side_outputs(env):
    large = OutputTag("large")

    class Flag(KeyedProcessFunction):
        def process_element(self, value, ctx):
            if value[1] > 5:
                yield large, value
            yield value

    class CountAndFlag(ProcessWindowFunction):
        def process(self, key, context, elements):
            elements = list(elements)
            if len(elements) > 2:
                yield large, (key, len(elements))
            yield key, len(elements)

    events = [("a", 1), ("a", 7), ("b", 2), ("a", 9), ("b", 3)]
    flagged = env.from_collection(events).key_by(lambda e: e[0]).process(Flag())
    assert sorted(flagged.get_side_output(large).execute_and_collect()) == [("a", 7), ("a", 9)]
    assert sorted(flagged.execute_and_collect()) == sorted(events)

    strategy = WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner(Stamped())
    windows = env.from_collection(events).assign_timestamps_and_watermarks(strategy).key_by(lambda e: e[0]).window(
        TumblingEventTimeWindows.of(Time.milliseconds(100))
    ).process(CountAndFlag())
    assert sorted(windows.get_side_output(large).execute_and_collect()) == [("a", 3)]
    assert sorted(windows.execute_and_collect()) == [("a", 3), ("b", 2)]


class EveryHundredthLate(TimestampAssigner):
    """Record n at time n, but every hundredth record at time 0, far behind the others; at
    record `pause_at` the job pauses for longer than the periodic watermark interval."""

    def __init__(self, pause_at):
        self.pause_at = pause_at

    def extract_timestamp(self, value, record_timestamp):
        if value == self.pause_at:
            time.sleep(0.3)
        return 0 if value % 100 == 0 else value


class Count(AggregateFunction):
    def create_accumulator(self):
        return 0

    def add(self, value, accumulator):
        return accumulator + 1

    def get_result(self, accumulator):
        return accumulator

    def merge(self, a, b):
        return a + b


def test_records_too_late_for_their_windows_go_to_the_late_data_side_output():
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(1)
    late = OutputTag("late", Types.LONG())
    total = 200_000
    numbers = env.from_source(NumberSequenceSource(1, total), WatermarkStrategy.no_watermarks(), "numbers")
    strategy = WatermarkStrategy.for_bounded_out_of_orderness(Duration.of_millis(0)).with_timestamp_assigner(
        EveryHundredthLate(pause_at=total // 2)
    )
    counts = numbers.assign_timestamps_and_watermarks(strategy).key_by(lambda n: n % 3).window(
        TumblingEventTimeWindows.of(Time.milliseconds(1000))
    ).side_output_late_data(late).aggregate(Count(), output_type=Types.LONG())
    both = counts.map(lambda count: ("window", count)).union(counts.get_side_output(late).map(lambda n: ("late", n)))
    results = list(both.execute_and_collect())
    late_records = [n for kind, n in results if kind == "late"]
    # A periodic watermark (every 200 ms) comes during the pause at the latest: records at
    # time 0 after it are late; every record is counted once, in a window or as late.
    assert late_records, "no record was late"
    assert all(n % 100 == 0 for n in late_records)
    assert sum(n for kind, n in results if kind == "window") + len(late_records) == total
