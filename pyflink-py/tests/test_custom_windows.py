"""Window assigners and triggers written in Python, in thread and process mode: each one
imitates a built-in (tumbling windows, the event-time trigger, the count trigger, sessions) and
must give the built-in's results over the same shuffled input; a failing trigger fails the job
with its traceback."""

import pytest

from pyflink_rs.common import Configuration, Duration, Time, Types, WatermarkStrategy
from pyflink_rs.common.watermark_strategy import TimestampAssigner
from pyflink_rs.datastream import ProcessWindowFunction, StreamExecutionEnvironment
from pyflink_rs.datastream.state import ReducingStateDescriptor, ValueStateDescriptor
from pyflink_rs.datastream.window import (
    ContinuousEventTimeTrigger,
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

from test_keyed_process import Stats
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


class StatefulWindows(ProcessWindowFunction):
    """Counts each window's firings in its window state, and each key's records and removed
    windows in its global state; reports both at every firing."""

    def process(self, key, context, elements):
        from pyflink_rs.datastream.state import AggregatingStateDescriptor, ListStateDescriptor, MapStateDescriptor

        fires = context.window_state().get_state(ValueStateDescriptor("fires", Types.INT()))
        fires.update((fires.value() or 0) + 1)
        seen = context.window_state().get_map_state(MapStateDescriptor("seen", Types.INT(), Types.INT()))
        for element in elements:
            seen.put(element[2], 1)
        total = context.global_state().get_reducing_state(ReducingStateDescriptor("total", lambda a, b: a + b))
        total.add(1)
        average = context.global_state().get_aggregating_state(AggregatingStateDescriptor("mean", Stats.Mean()))
        average.add(elements[-1][2])
        removed = context.global_state().get_list_state(ListStateDescriptor("removed", Types.LONG()))
        yield key, context.window().start, fires.value(), len(list(seen.keys())), total.get(), average.get(), \
            sorted(removed.get())

    def clear(self, context):
        from pyflink_rs.datastream.state import ListStateDescriptor, MapStateDescriptor

        context.window_state().get_state(ValueStateDescriptor("fires", Types.INT())).clear()
        context.window_state().get_map_state(MapStateDescriptor("seen", Types.INT(), Types.INT())).clear()
        context.global_state().get_list_state(ListStateDescriptor("removed", Types.LONG())).add(context.window().start)


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_window_state_and_global_state_of_a_process_window_function(mode):
    # Every record fires its window (a count trigger of 1), so each firing's facts follow from
    # the records of its key in order, whatever the watermarks do.
    events = [(key, ts, n) for n, (key, ts) in enumerate(
        [("a", 1), ("b", 2), ("a", 3), ("a", 14), ("b", 15), ("a", 16), ("a", 27), ("b", 28)])]
    env = environment(mode)
    strategy = WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner(SecondField())
    results = list(
        env.from_collection(events).assign_timestamps_and_watermarks(strategy).key_by(lambda e: e[0])
        .window(TumblingEventTimeWindows.of(Time.milliseconds(10)))
        .trigger(CountTrigger.of(1)).process(StatefulWindows()).execute_and_collect())
    expected, fires, seen, counts, values = [], {}, {}, {}, {}
    for key, ts, n in events:
        window = (key, ts // 10 * 10)
        fires[window] = fires.get(window, 0) + 1
        seen.setdefault(window, set()).add(n)
        counts[key] = counts.get(key, 0) + 1
        values.setdefault(key, []).append(n)
        mean = sum(values[key]) / len(values[key])
        expected.append((key, window[1], fires[window], len(seen[window]), counts[key], mean))
    assert sorted(r[:6] for r in results) == sorted(expected)
    # Windows are removed when the watermark passes their end, so whether a firing sees its
    # key's earlier windows removed depends on when watermarks came; never a later window.
    for key, start, *_, removed in results:
        assert all(r < start for r in removed), (key, start, removed)


class Listing(ProcessWindowFunction):
    def process(self, key, context, elements):
        yield key, context.window().start, [e[2] for e in elements]


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_evictors_remove_records_before_the_window_function(mode):
    from pyflink_rs.datastream.window import CountEvictor, TimeEvictor

    events = [("a", 1, 0), ("a", 5, 1), ("b", 2, 2), ("a", 7, 3), ("a", 8, 4), ("b", 9, 5), ("a", 12, 6), ("a", 19, 7)]

    def run(evictor, reduce=False):
        env = environment(mode)
        strategy = WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner(SecondField())
        windowed = env.from_collection(events).assign_timestamps_and_watermarks(strategy).key_by(lambda e: e[0]) \
            .window(TumblingEventTimeWindows.of(Time.milliseconds(10))).evictor(evictor)
        if reduce:
            windowed = windowed.reduce(lambda x, y: (x[0], max(x[1], y[1]), x[2] + y[2]))
            return sorted((e[0], e[2]) for e in windowed.execute_and_collect())
        return sorted(windowed.process(Listing()).execute_and_collect())

    # Arrival order within each key's window: a [0,10): 0, 1, 3, 4; b: 2, 5; a [10,20): 6, 7.
    assert run(CountEvictor.of(2)) == [("a", 0, [3, 4]), ("a", 10, [6, 7]), ("b", 0, [2, 5])]
    # Within 3 ms of the newest timestamp (8): 5 and 7, 8 are kept (5 > 8 - 3 is false: 5 goes).
    assert run(TimeEvictor.of(Time.milliseconds(3))) == [("a", 0, [3, 4]), ("a", 10, [7]), ("b", 0, [5])]
    assert run(CountEvictor.of(1), reduce=True) == [("a", 4), ("a", 7), ("b", 5)]
    with pytest.raises(ValueError, match="positive"):
        CountEvictor.of(0)
    env = environment(mode)
    with pytest.raises(ValueError, match="evictors apply to time and global windows"):
        env.from_collection(events).key_by(lambda e: e[0]).count_window(2).evictor(CountEvictor.of(1))


class RunningWindows(ProcessWindowFunction):
    """Counts a key's windows in its global state; a count window's window state starts empty."""

    def process(self, key, context, elements):
        windows = context.global_state().get_state(ValueStateDescriptor("windows", Types.INT()))
        windows.update((windows.value() or 0) + 1)
        fresh = context.window_state().get_state(ValueStateDescriptor("fresh", Types.INT()))
        assert fresh.value() is None
        fresh.update(1)
        yield key, windows.value(), sum(e[2] for e in elements)


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_count_windows_keep_global_state_across_their_windows(mode):
    events = [("a" if n % 3 else "b", n, n) for n in range(12)]
    env = environment(mode)
    results = env.from_collection(events).key_by(lambda e: e[0]).count_window(2).process(RunningWindows())
    by_key = {}
    for key, ts, n in events:
        by_key.setdefault(key, []).append(n)
    expected = [(key, i // 2 + 1, values[i] + values[i + 1])
                for key, values in by_key.items() for i in range(0, len(values) - 1, 2)]
    assert sorted(results.execute_and_collect()) == sorted(expected)


class NotedContinuousTrigger(ContinuousEventTimeTrigger):
    """The built-in continuous trigger with one method overridden, so it runs as Python code."""

    def register_next_fire_timestamp(self, time, window, ctx, fire_timestamp_state):
        assert time <= window.max_timestamp()
        super().register_next_fire_timestamp(time, window, ctx, fire_timestamp_state)


class Firings(ProcessWindowFunction):
    def process(self, key, context, elements):
        window = context.window()
        yield key, window.start, window.end, len(list(elements))


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_a_subclass_of_the_continuous_event_time_trigger_fires_as_the_built_in(mode):
    events = shuffled_events(seed=11)
    env = environment(mode)

    def firings(trigger):
        windows = timestamped(env, events).key_by(lambda e: e[0]).window(
            TumblingEventTimeWindows.of(Time.milliseconds(100))
        )
        per_window = {}
        for key, start, end, count in windows.trigger(trigger).process(Firings()).execute_and_collect():
            fired, largest = per_window.get((key, start, end), (0, 0))
            per_window[(key, start, end)] = (fired + 1, max(largest, count))
        return per_window

    assert "CUSTOM" not in type(ContinuousEventTimeTrigger.of(Time.milliseconds(30))._native()).__name__
    assert "CUSTOM" in type(NotedContinuousTrigger(Time.milliseconds(30))._native()).__name__
    built_in = firings(ContinuousEventTimeTrigger.of(Time.milliseconds(30)))
    # Early firings every 30 ms of event time, then the window's end with all its records.
    assert all(fired >= 2 for fired, _ in built_in.values())
    assert sum(count for _, count in built_in.values()) == len(events)
    assert firings(NotedContinuousTrigger(Time.milliseconds(30))) == built_in



def test_window_serializers_write_flink_layouts_and_read_them_back():
    import io

    from pyflink_rs.common import TypeSerializer
    from pyflink_rs.datastream.window import (
        CountTumblingWindowAssigner,
        CountWindow,
        CountWindowSerializer,
        GlobalWindow,
        GlobalWindowSerializer,
        TimeWindowSerializer,
    )

    stream = io.BytesIO()
    TimeWindowSerializer().serialize(TimeWindow(-1, 2), stream)
    CountWindowSerializer().serialize(CountWindow(7), stream)
    GlobalWindowSerializer().serialize(GlobalWindow.get(), stream)
    assert stream.getvalue() == b"\xff" * 8 + (2).to_bytes(8, "big") + (7).to_bytes(8, "big") + b"\0"
    stream.seek(0)
    assert TimeWindowSerializer().deserialize(stream) == TimeWindow(-1, 2)
    assert CountWindowSerializer().deserialize(stream) == CountWindow(7)
    assert GlobalWindowSerializer().deserialize(stream) == GlobalWindow.get()
    with pytest.raises(EOFError, match="TimeWindow: 3 of 16 bytes"):
        TimeWindowSerializer().deserialize(io.BytesIO(b"abc"))
    assert TimeWindowSerializer() == TimeWindowSerializer() != CountWindowSerializer()
    # Each assigner names the serializer of its windows; a Python assigner's are time windows.
    assert TumblingEventTimeWindows.of(Time.seconds(1)).get_window_serializer() == TimeWindowSerializer()
    assert CountTumblingWindowAssigner.of(3).get_window_serializer() == CountWindowSerializer()
    assert GlobalWindows.create().get_window_serializer() == GlobalWindowSerializer()
    assert Tumbling(5).get_window_serializer() == TimeWindowSerializer()
    with pytest.raises(TypeError):
        TypeSerializer()
