"""Windows from Python: time, session, count and global windows with reduce, aggregate,
process and apply, checked against plain Python over the same (shuffled) input."""

import collections
import random

import pytest

from pyflink_rs.common import Duration, Time, Types, WatermarkStrategy
from pyflink_rs.common.watermark_strategy import TimestampAssigner
from pyflink_rs.datastream import (
    AggregateFunction,
    AllWindowFunction,
    ProcessAllWindowFunction,
    ProcessWindowFunction,
    StreamExecutionEnvironment,
    WindowFunction,
)
from pyflink_rs.datastream.state import ValueStateDescriptor
from pyflink_rs.datastream.window import (
    ContinuousEventTimeTrigger,
    CountTrigger,
    CountWindow,
    EventTimeSessionWindows,
    GlobalWindow,
    GlobalWindows,
    PurgingTrigger,
    SlidingEventTimeWindows,
    TimeWindow,
    Trigger,
    TumblingEventTimeWindows,
)


@pytest.fixture
def env():
    environment = StreamExecutionEnvironment.get_execution_environment()
    environment.set_parallelism(2)
    return environment


class SecondField(TimestampAssigner):
    def extract_timestamp(self, value, record_timestamp):
        return value[1]


def timestamped(env, events, out_of_orderness_ms=0):
    strategy = WatermarkStrategy.for_bounded_out_of_orderness(Duration.of_millis(out_of_orderness_ms))
    return env.from_collection(events).assign_timestamps_and_watermarks(strategy.with_timestamp_assigner(SecondField()))


def shuffled_events(seed, count=400, keys="abcd", bound=20):
    """Events (key, time, amount) whose times are out of order by less than `bound` ms."""
    rng = random.Random(seed)
    events = [(rng.choice(keys), t * 3 + rng.randint(0, 2), rng.randint(1, 9)) for t in range(count)]
    # Swapping neighbours within a short span keeps every event within `bound` of its place.
    for i in range(len(events) - 1):
        if rng.random() < 0.5 and abs(events[i][1] - events[i + 1][1]) < bound:
            events[i], events[i + 1] = events[i + 1], events[i]
    return events


class Describe(ProcessWindowFunction):
    """(key, start, end, sum of amounts, count) per window."""

    def process(self, key, context, elements):
        window = context.window()
        amounts = [e[2] for e in elements]
        yield key, window.start, window.end, sum(amounts), len(amounts)


def test_tumbling_event_time_windows_match_python_over_out_of_order_input(env):
    events = shuffled_events(seed=1)
    result = timestamped(env, events, 20).key_by(lambda e: e[0]).window(
        TumblingEventTimeWindows.of(Time.milliseconds(50))
    ).process(Describe())

    expected = collections.defaultdict(lambda: [0, 0])
    for key, time, amount in events:
        start = time - time % 50
        expected[(key, start, start + 50)][0] += amount
        expected[(key, start, start + 50)][1] += 1
    assert sorted(result.execute_and_collect()) == sorted((*window, *totals) for window, totals in expected.items())


def test_sliding_windows_with_incremental_reduce_keep_the_record_type(env):
    events = [("a", t, 1) for t in range(0, 10)]
    typed = env.from_collection(events, Types.TUPLE([Types.STRING(), Types.LONG(), Types.INT()]))
    stamped = typed.assign_timestamps_and_watermarks(
        WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner(SecondField())
    )
    sums = stamped.key_by(lambda e: e[0]).window(SlidingEventTimeWindows.of(Time.milliseconds(4), Time.milliseconds(2))).reduce(
        lambda a, b: (a[0], max(a[1], b[1]), a[2] + b[2])
    )
    # Windows [-2,2) [0,4) [2,6) [4,8) [6,10) [8,12): counts 2, 4, 4, 4, 4, 2.
    assert [record[2] for record in sorted(sums.execute_and_collect(), key=lambda r: r[1])] == [2, 4, 4, 4, 4, 2]


class Average(AggregateFunction):
    def create_accumulator(self):
        return 0, 0

    def add(self, value, accumulator):
        return accumulator[0] + value[2], accumulator[1] + 1

    def get_result(self, accumulator):
        return accumulator[0] / accumulator[1]

    def merge(self, a, b):
        return a[0] + b[0], a[1] + b[1]


class WithKeyAndWindow(ProcessWindowFunction):
    def process(self, key, context, averages):
        (average,) = averages
        return [(key, context.window().start, average)]


def test_session_windows_aggregate_and_merge_accumulators(env):
    # Sessions with a 10 ms gap: a's records at 0, 5, 12 merge into [0, 22); 40 is its own.
    events = [("a", 0, 2), ("a", 12, 6), ("a", 5, 4), ("a", 40, 10), ("b", 3, 1)]
    result = timestamped(env, events, 20).key_by(lambda e: e[0]).window(
        EventTimeSessionWindows.with_gap(Time.milliseconds(10))
    ).aggregate(Average(), WithKeyAndWindow(), output_type=Types.TUPLE([Types.STRING(), Types.LONG(), Types.DOUBLE()]))
    assert sorted(result.execute_and_collect()) == [("a", 0, 4.0), ("a", 40, 10.0), ("b", 3, 1.0)]


class SumPerCountWindow(WindowFunction):
    def apply(self, key, window, inputs):
        assert isinstance(window, CountWindow)
        yield key, window.id, [value for _, value in inputs]


def test_sliding_count_windows_are_numbered_as_pyflink_numbers_them(env):
    records = [("k", n) for n in range(8)]
    result = env.from_collection(records).key_by(lambda r: r[0]).count_window(3, 2).apply(SumPerCountWindow())
    # Window i holds records 2i .. 2i+2 and fires when it is full; the last, partial one never does.
    assert sorted(result.execute_and_collect()) == [("k", 0, [0, 1, 2]), ("k", 1, [2, 3, 4]), ("k", 2, [4, 5, 6])]


def test_count_windows_with_gaps_and_a_reduce(env):
    records = [("k", n) for n in range(10)]
    # Size 2 every 3: windows hold records 0-1, 3-4, 6-7, 9-10; records 2, 5 and 8 belong to none.
    result = env.from_collection(records).key_by(lambda r: r[0]).count_window(2, 3).reduce(
        lambda a, b: (a[0], a[1] + b[1])
    )
    assert sorted(result.execute_and_collect()) == [("k", 1), ("k", 7), ("k", 13)]


def test_global_windows_fire_by_a_purging_count_trigger(env):
    records = [("a", n) for n in range(5)] + [("b", n) for n in range(4)]

    class Values(ProcessWindowFunction):
        def process(self, key, context, elements):
            assert context.window() == GlobalWindow.get()
            return [(key, tuple(v for _, v in elements))]

    result = env.from_collection(records).key_by(lambda r: r[0]).window(GlobalWindows.create()).trigger(
        PurgingTrigger.of(CountTrigger.of(2))
    ).process(Values())
    assert sorted(result.execute_and_collect()) == [("a", (0, 1)), ("a", (2, 3)), ("b", (0, 1)), ("b", (2, 3))]


def test_continuous_event_time_trigger_fires_early_results(env):
    events = [("a", t, 1) for t in range(0, 100, 10)]
    result = timestamped(env, events).key_by(lambda e: e[0]).window(
        TumblingEventTimeWindows.of(Time.milliseconds(100))
    ).trigger(ContinuousEventTimeTrigger.of(Time.milliseconds(30))).process(Describe())
    counts = [record[4] for record in result.execute_and_collect()]
    # Fires at 30, 60 and 90 while the window is open, then at its end (99).
    assert counts[-1] == 10 and counts == sorted(counts) and len(counts) >= 2


def test_window_all_sees_every_key(env):
    events = [(k, t, 1) for t in range(20) for k in "xyz"]

    class CountAll(ProcessAllWindowFunction):
        def process(self, context, elements):
            yield context.window().start, len(list(elements))

    class Keys(AllWindowFunction):
        def apply(self, window, inputs):
            yield window.start, "".join(sorted({e[0] for e in inputs}))

    stamped = timestamped(env, events)
    counts = stamped.window_all(TumblingEventTimeWindows.of(Time.milliseconds(10))).process(CountAll())
    keys = stamped.window_all(TumblingEventTimeWindows.of(Time.milliseconds(10))).apply(Keys())
    assert sorted(counts.execute_and_collect()) == [(0, 30), (10, 30)]
    assert sorted(keys.execute_and_collect()) == [(0, "xyz"), (10, "xyz")]


def test_time_windows_are_python_time_windows():
    window = TimeWindow(0, 5)
    assert window.max_timestamp() == 4
    assert window.intersects(TimeWindow(5, 9)) and window.cover(TimeWindow(3, 9)) == TimeWindow(0, 9)


def test_a_failing_reduce_fails_the_job_with_its_traceback(env):
    def broken(a, b):
        raise ValueError("cannot combine these")

    stream = timestamped(env, [("a", 1, 1), ("a", 2, 1)]).key_by(lambda e: e[0]).window(
        TumblingEventTimeWindows.of(Time.milliseconds(10))
    ).reduce(broken)
    with pytest.raises(Exception) as failure:
        list(stream.execute_and_collect())
    message = str(failure.value)
    assert "cannot combine these" in message and "in broken" in message and "Window(Reduce)" in message


def test_a_dynamic_gap_of_zero_is_a_clear_error(env):
    stream = timestamped(env, [("a", 1, 1)]).key_by(lambda e: e[0]).window(
        EventTimeSessionWindows.with_dynamic_gap(lambda element: 0)
    ).process(Describe())
    with pytest.raises(Exception, match="gap extractor returned 0 ms"):
        list(stream.execute_and_collect())


def test_runtime_context_state_in_a_time_window_function_is_refused_with_a_clear_error(env):
    class Stateful(ProcessWindowFunction):
        def open(self, runtime_context):
            self.seen = runtime_context.get_state(ValueStateDescriptor("seen", Types.LONG()))

        def process(self, key, context, elements):
            return []

    stream = timestamped(env, [("a", 1, 1)]).key_by(lambda e: e[0]).window(
        TumblingEventTimeWindows.of(Time.milliseconds(10))
    ).process(Stateful())
    with pytest.raises(Exception, match="has no keyed state: use the context.s window_state"):
        list(stream.execute_and_collect())


def test_incomplete_triggers_and_bad_parameters_are_rejected_when_the_program_is_built(env):
    keyed = env.from_collection([("a", 1, 1)]).key_by(lambda e: e[0])

    class MyTrigger(Trigger):
        pass

    with pytest.raises(TypeError, match="does not implement on_element"):
        keyed.window(GlobalWindows.create()).trigger(MyTrigger()).process(Describe())
    with pytest.raises(ValueError, match="size above 0"):
        TumblingEventTimeWindows.of(Time.milliseconds(0))
    with pytest.raises(ValueError, match="count windows need a size above 0"):
        keyed.count_window(0)
    with pytest.raises(Exception, match="they take no other trigger"):
        keyed.count_window(2).trigger(CountTrigger.of(1)).process(Describe())
