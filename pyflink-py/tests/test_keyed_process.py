"""Python KeyedProcessFunctions: keyed state, event-time timers and timestamp assigners,
checked against plain Python over the same input."""

import collections
import random

import pytest

from pyflink_rs.common import Configuration, Duration, Time, Types, WatermarkStrategy
from pyflink_rs.common.watermark_strategy import TimestampAssigner
from pyflink_rs.datastream import KeyedProcessFunction, RuntimeContext, StreamExecutionEnvironment
from pyflink_rs.datastream.state import (
    ListStateDescriptor,
    MapStateDescriptor,
    StateTtlConfig,
    ValueStateDescriptor,
)


@pytest.fixture
def env():
    environment = StreamExecutionEnvironment.get_execution_environment()
    environment.set_parallelism(2)
    return environment


class RunningSum(KeyedProcessFunction):
    def open(self, runtime_context: RuntimeContext):
        descriptor = ValueStateDescriptor("sum", Types.LONG())
        descriptor.enable_time_to_live(StateTtlConfig.new_builder(Time.hours(1)).update_ttl_on_read_and_write().build())
        self.sum = runtime_context.get_state(descriptor)
        self.seen = runtime_context.get_list_state(ListStateDescriptor("seen", Types.LONG()))
        self.counts = runtime_context.get_map_state(MapStateDescriptor("counts", Types.LONG(), Types.LONG()))

    def process_element(self, value, ctx):
        key, amount = value
        total = (self.sum.value() or 0) + amount
        self.sum.update(total)
        self.seen.add(amount)
        self.counts.put(amount, (self.counts.get(amount) or 0) + 1)
        assert ctx.get_current_key() == key
        yield key, total, len(self.seen.get()), self.counts.get(amount)


# The wheel is built with the RocksDB backend (the cargo feature `rocksdb`), chosen as in PyFlink.
@pytest.mark.parametrize("backend", ["hashmap", "rocksdb"])
def test_value_list_and_map_state_per_key_match_python(env, backend):
    env.configure(Configuration().set_string("state.backend.type", backend))
    rng = random.Random(7)
    events = [(rng.choice("abcde"), rng.randint(1, 3)) for _ in range(500)]
    result = list(env.from_collection(events).key_by(lambda e: e[0]).process(RunningSum()).execute_and_collect())

    expected = collections.defaultdict(list)
    totals, seen, counts = collections.Counter(), collections.Counter(), collections.defaultdict(collections.Counter)
    for key, amount in events:
        totals[key] += amount
        seen[key] += 1
        counts[key][amount] += 1
        expected[key].append((key, totals[key], seen[key], counts[key][amount]))
    actual = collections.defaultdict(list)
    for record in result:
        actual[record[0]].append(record)
    # Per key, results come in input order.
    assert dict(actual) == dict(expected)


class FireAfter(KeyedProcessFunction):
    """Counts records per key and reports the count two seconds of event time after each."""

    def open(self, runtime_context):
        self.count = runtime_context.get_state(ValueStateDescriptor("count", Types.LONG()))

    def process_element(self, value, ctx):
        self.count.update((self.count.value() or 0) + 1)
        ctx.timer_service().register_event_time_timer(ctx.timestamp() + 2000)

    def on_timer(self, timestamp, ctx):
        yield ctx.get_current_key(), timestamp, self.count.value(), ctx.time_domain()


class FirstField(TimestampAssigner):
    def extract_timestamp(self, value, record_timestamp):
        return value[0]


def test_event_time_timers_fire_at_the_watermark(env):
    events = [(1000, "a"), (4000, "b"), (3000, "a"), (2000, "b"), (9000, "a")]
    strategy = WatermarkStrategy.for_bounded_out_of_orderness(Duration.of_seconds(2)).with_timestamp_assigner(FirstField())
    result = list(
        env.from_collection(events)
        .assign_timestamps_and_watermarks(strategy)
        .key_by(lambda e: e[1])
        .process(FireAfter())
        .execute_and_collect()
    )
    # Each record at t registers a timer at t + 2000 for its key; every timer fires once, in
    # event time, after the records before it. How many records a timer sees depends on when
    # periodic watermarks happen to be emitted, up to the key's total at the end of input.
    assert sorted((key, timestamp) for key, timestamp, _, _ in result) == [
        ("a", 3000), ("a", 5000), ("a", 11000), ("b", 4000), ("b", 6000)
    ]
    assert all(domain == 0 for _, _, _, domain in result)
    totals = {"a": 3, "b": 2}
    assert all(1 <= count <= totals[key] for key, _, count, _ in result)
    assert [count for key, timestamp, count, _ in result if timestamp == 11000] == [3]


def test_a_failing_timestamp_assigner_fails_the_job(env):
    strategy = WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner(lambda v, t: v["missing"])
    with pytest.raises(Exception, match="KeyError"):
        list(env.from_collection([{"x": 1}]).assign_timestamps_and_watermarks(strategy).execute_and_collect())


def test_state_outside_a_keyed_call_is_a_clear_error(env):
    class EarlyRead(KeyedProcessFunction):
        def open(self, runtime_context):
            self.state = runtime_context.get_state(ValueStateDescriptor("s", Types.INT()))
            self.state.value()

        def process_element(self, value, ctx):
            yield value

    with pytest.raises(Exception, match="after open\\(\\) returns"):
        list(env.from_collection([1]).key_by(lambda v: v).process(EarlyRead()).execute_and_collect())


def test_process_needs_a_keyed_process_function(env):
    with pytest.raises(TypeError, match="KeyedProcessFunction"):
        env.from_collection([1]).key_by(lambda v: v).process(lambda v: v)


class Stats(KeyedProcessFunction):
    """Per key: the largest value (ReducingState) and the mean (AggregatingState)."""

    class Mean:
        def create_accumulator(self):
            return 0, 0

        def add(self, value, accumulator):
            return accumulator[0] + value, accumulator[1] + 1

        def get_result(self, accumulator):
            return accumulator[0] / accumulator[1]

        def merge(self, a, b):
            return a[0] + b[0], a[1] + b[1]

    def open(self, runtime_context):
        from pyflink_rs.datastream.state import AggregatingStateDescriptor, ReducingStateDescriptor

        self.largest = runtime_context.get_reducing_state(ReducingStateDescriptor("largest", max, Types.LONG()))
        self.mean = runtime_context.get_aggregating_state(AggregatingStateDescriptor("mean", Stats.Mean()))

    def process_element(self, value, ctx):
        key, amount = value
        before = self.largest.get()
        self.largest.add(amount)
        self.mean.add(amount)
        yield key, before, self.largest.get(), self.mean.get()


def test_reducing_and_aggregating_state_per_key_match_python(env):
    rng = random.Random(11)
    events = [(rng.choice("xyz"), rng.randint(-50, 50)) for _ in range(300)]
    result = list(env.from_collection(events).key_by(lambda e: e[0]).process(Stats()).execute_and_collect())
    expected = collections.defaultdict(list)
    seen = collections.defaultdict(list)
    for key, amount in events:
        before = max(seen[key]) if seen[key] else None
        seen[key].append(amount)
        expected[key].append((key, before, max(seen[key]), sum(seen[key]) / len(seen[key])))
    actual = collections.defaultdict(list)
    for record in result:
        actual[record[0]].append(record)
    assert dict(actual) == dict(expected)


def test_state_ttl_cleanup_strategies_read_back_what_the_builder_set():
    from pyflink_rs.common import Time
    from pyflink_rs.datastream.functions import KeyedStateStore, RuntimeContext
    from pyflink_rs.datastream.state import (
        AppendingState,
        ListState,
        MergingState,
        ReducingState,
        StateTtlConfig,
    )

    strategies = StateTtlConfig.CleanupStrategies
    config = StateTtlConfig.new_builder(Time.seconds(1)).cleanup_full_snapshot().cleanup_incrementally(10, True).build()
    cleanup = config.get_cleanup_strategies()
    assert cleanup.in_full_snapshot() and cleanup.is_cleanup_in_background()
    incremental = cleanup.get_incremental_cleanup_strategy()
    assert (incremental.get_cleanup_size(), incremental.run_cleanup_for_every_record()) == (10, True)
    assert config.get_ttl_time_characteristic() is StateTtlConfig.TtlTimeCharacteristic.ProcessingTime
    quiet = StateTtlConfig.new_builder(Time.seconds(1)).disable_cleanup_in_background().build()
    assert quiet.get_cleanup_strategies().get_incremental_cleanup_strategy() is None
    assert not quiet.get_cleanup_strategies().in_full_snapshot()
    default = StateTtlConfig.new_builder(Time.seconds(1)).build().get_cleanup_strategies()
    assert default.get_incremental_cleanup_strategy().get_cleanup_size() == 5
    rocks = StateTtlConfig.new_builder(Time.seconds(1)).cleanup_in_rocksdb_compact_filter(50).build()
    assert rocks.get_cleanup_strategies().get_rocksdb_compact_filter_cleanup_strategy().get_query_time_after_num_entries() == 50
    assert isinstance(strategies.EMPTY_STRATEGY, strategies.CleanupStrategy)
    assert issubclass(ListState, MergingState) and issubclass(ReducingState, AppendingState)
    assert issubclass(RuntimeContext, KeyedStateStore)


class RememberLast(KeyedProcessFunction):
    """Remembers each key's last value for 100 ms; a record marked late comes after that."""

    def __init__(self, visibility):
        self.visibility = visibility

    def open(self, runtime_context: RuntimeContext):
        descriptor = ValueStateDescriptor("last", Types.STRING())
        ttl = StateTtlConfig.new_builder(Time.milliseconds(100)).set_state_visibility(self.visibility).build()
        descriptor.enable_time_to_live(ttl)
        self.last = runtime_context.get_state(descriptor)

    def process_element(self, value, ctx):
        import time

        if value[1] == "late":
            time.sleep(0.3)
        previous = self.last.value()
        self.last.update(value[1])
        yield f"{value[1]} saw {previous}"


@pytest.mark.parametrize("backend", ["hashmap", "rocksdb"])
def test_keyed_state_expires_after_its_time_to_live(env, backend):
    env.configure(Configuration().set_string("state.backend.type", backend))
    env.set_parallelism(1)
    events = [("a", "first"), ("a", "second"), ("a", "late")]
    visibility = StateTtlConfig.StateVisibility.NeverReturnExpired
    result = list(env.from_collection(events).key_by(lambda e: e[0]).process(RememberLast(visibility))
                  .execute_and_collect())
    assert result == ["first saw None", "second saw first", "late saw None"]
