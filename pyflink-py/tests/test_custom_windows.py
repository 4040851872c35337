"""Window assigners and triggers written in Python, in thread and process mode: each one
imitates a built-in (tumbling windows, the event-time trigger, the count trigger, sessions) and
must give the built-in's results over the same shuffled input; a failing trigger fails the job
with its traceback."""

import pytest

from pyflink_rs.common import Configuration, Duration, Time, WatermarkStrategy
from pyflink_rs.common.watermark_strategy import TimestampAssigner
from pyflink_rs.datastream import ProcessWindowFunction, StreamExecutionEnvironment
from pyflink_rs.datastream.state import ReducingStateDescriptor, ValueStateDescriptor
from pyflink_rs.datastream.window import (
    CountTrigger,
    EventTimeSessionWindows,
    EventTimeTrigger,
    GlobalWindows,
    MergingWindowAssigner,
    PurgingTrigger,
    TimeWindow,
    Trigger,
    TriggerResult,
    TumblingEventTimeWindows,
    WindowAssigner,
)

from test_windows import shuffled_events


def environment(mode):
    config = Configuration().set_string("python.execution-mode", mode)
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(2)
    return env


class SecondField(TimestampAssigner):
    def extract_timestamp(self, value, record_timestamp):
        return value[1]


def timestamped(env, events):
    strategy = WatermarkStrategy.for_bounded_out_of_orderness(Duration.of_millis(20))
    return env.from_collection(events).assign_timestamps_and_watermarks(strategy.with_timestamp_assigner(SecondField()))


class Describe(ProcessWindowFunction):
    def process(self, key, context, elements):
        window = context.window()
        amounts = [e[2] for e in elements]
        yield key, getattr(window, "start", None), getattr(window, "end", None), sum(amounts), len(amounts)


class EndOfWindow(Trigger):
    """Fires when the watermark passes the window's end, as EventTimeTrigger does."""

    def on_element(self, element, timestamp, window, ctx):
        if window.max_timestamp() <= ctx.get_current_watermark():
            return TriggerResult.FIRE
        ctx.register_event_time_timer(window.max_timestamp())
        return TriggerResult.CONTINUE

    def on_event_time(self, time, window, ctx):
        return TriggerResult.FIRE if time == window.max_timestamp() else TriggerResult.CONTINUE

    def on_processing_time(self, time, window, ctx):
        return TriggerResult.CONTINUE

    def can_merge(self):
        return True

    def on_merge(self, window, ctx):
        if window.max_timestamp() > ctx.get_current_watermark():
            ctx.register_event_time_timer(window.max_timestamp())

    def clear(self, window, ctx):
        ctx.delete_event_time_timer(window.max_timestamp())


class Tumbling(WindowAssigner):
    """Tumbling event-time windows of `size` ms, as TumblingEventTimeWindows."""

    def __init__(self, size):
        self.size = size

    def assign_windows(self, element, timestamp, context):
        start = TimeWindow.get_window_start_with_offset(timestamp, 0, self.size)
        return [TimeWindow(start, start + self.size)]

    def get_default_trigger(self, env):
        return EndOfWindow()

    def is_event_time(self):
        return True


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_a_python_assigner_and_trigger_give_the_built_in_tumbling_windows_results(mode):
    events = shuffled_events(seed=3)
    env = environment(mode)
    built_in = timestamped(env, events).key_by(lambda e: e[0]).window(TumblingEventTimeWindows.of(Time.milliseconds(50)))
    expected = sorted(built_in.process(Describe()).execute_and_collect())
    custom = timestamped(env, events).key_by(lambda e: e[0]).window(Tumbling(50))
    assert sorted(custom.process(Describe()).execute_and_collect()) == expected
    # The Python trigger on the built-in assigner, too.
    mixed = timestamped(env, events).key_by(lambda e: e[0]).window(TumblingEventTimeWindows.of(Time.milliseconds(50)))
    assert sorted(mixed.trigger(EndOfWindow()).process(Describe()).execute_and_collect()) == expected


class EveryN(Trigger):
    """Fires every `n` records of a window, counting in partitioned reducing state, as
    CountTrigger does."""

    def __init__(self, n):
        self.n = n
        self.count = ReducingStateDescriptor("count", lambda a, b: a + b)

    def on_element(self, element, timestamp, window, ctx):
        count = ctx.get_partitioned_state(self.count)
        count.add(1)
        if count.get() >= self.n:
            count.clear()
            return TriggerResult.FIRE
        return TriggerResult.CONTINUE

    def on_event_time(self, time, window, ctx):
        return TriggerResult.CONTINUE

    def on_processing_time(self, time, window, ctx):
        return TriggerResult.CONTINUE

    def clear(self, window, ctx):
        ctx.get_partitioned_state(self.count).clear()


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_a_python_trigger_with_partitioned_state_counts_as_the_count_trigger(mode):
    events = [(key, t, t) for t in range(40) for key in "ab"]
    env = environment(mode)

    def run(trigger):
        windowed = env.from_collection(events).key_by(lambda e: e[0]).window(GlobalWindows.create())
        return sorted(windowed.trigger(trigger).process(Describe()).execute_and_collect())

    assert run(PurgingTrigger.of(EveryN(7))) == run(PurgingTrigger.of(CountTrigger.of(7)))
    assert len(run(EveryN(7))) == 2 * (40 // 7)


class Sessions(MergingWindowAssigner):
    """Event-time sessions with a gap, as EventTimeSessionWindows."""

    def __init__(self, gap):
        self.gap = gap

    def assign_windows(self, element, timestamp, context):
        return [TimeWindow(timestamp, timestamp + self.gap)]

    def merge_windows(self, windows, callback):
        TimeWindow.merge_windows(windows, callback)

    def get_default_trigger(self, env):
        return EndOfWindow()

    def is_event_time(self):
        return True


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_a_python_merging_assigner_gives_the_built_in_session_windows_results(mode):
    events = shuffled_events(seed=5, count=200, bound=10)
    env = environment(mode)
    built_in = timestamped(env, events).key_by(lambda e: e[0]).window(EventTimeSessionWindows.with_gap(Time.milliseconds(9)))
    expected = sorted(built_in.process(Describe()).execute_and_collect())
    custom = timestamped(env, events).key_by(lambda e: e[0]).window(Sessions(9))
    assert sorted(custom.process(Describe()).execute_and_collect()) == expected
    assert sorted(
        timestamped(env, events).key_by(lambda e: e[0]).window(Sessions(9)).trigger(EventTimeTrigger.create())
        .process(Describe()).execute_and_collect()
    ) == expected


class Broken(EveryN):
    def on_element(self, element, timestamp, window, ctx):
        if element[1] == 3:
            raise ValueError("no threes")
        return TriggerResult.CONTINUE


def test_a_failing_python_trigger_fails_the_job_with_its_traceback():
    env = environment("thread")
    windowed = env.from_collection([("a", t, t) for t in range(5)]).key_by(lambda e: e[0]).window(GlobalWindows.create())
    with pytest.raises(Exception, match="ValueError: no threes"):
        list(windowed.trigger(Broken(2)).process(Describe()).execute_and_collect())


def test_merge_windows_reports_each_group_of_overlapping_windows():
    merges = []

    class Collect(MergingWindowAssigner.MergeCallback):
        def merge(self, to_be_merged, merge_result):
            merges.append((sorted(to_be_merged), merge_result))

    TimeWindow.merge_windows([TimeWindow(5, 9), TimeWindow(0, 3), TimeWindow(2, 6), TimeWindow(20, 25)], Collect())
    assert merges == [([TimeWindow(0, 3), TimeWindow(2, 6), TimeWindow(5, 9)], TimeWindow(0, 9))]
    assert TriggerResult.FIRE_AND_PURGE.is_fire() and TriggerResult.FIRE_AND_PURGE.is_purge()
    assert not TriggerResult.CONTINUE.is_fire() and PurgingTrigger.of(CountTrigger.of(2)).can_merge()
    assert ValueStateDescriptor("x").name == "x"
