"""The broadcast state pattern from Python, in thread and process mode: a stream broadcast with
`broadcast(MapStateDescriptor)`, connected to another stream (keyed or not), processed by a
`BroadcastProcessFunction` or `KeyedBroadcastProcessFunction` whose broadcast state is
writable only for broadcast records, read in timers, and kept by savepoints across a change
of parallelism."""

import os
import time

import pytest

from pyflink_rs.common import Configuration, JobStatus, TimestampAssigner, Types, WatermarkStrategy
from pyflink_rs.datastream import (
    BroadcastConnectedStream,
    BroadcastProcessFunction,
    BroadcastStream,
    KeyedBroadcastProcessFunction,
    StreamExecutionEnvironment,
)
from pyflink_rs.datastream.connectors import DiscardingSink, NumberSequenceSource
from pyflink_rs.datastream.state import MapStateDescriptor, ValueStateDescriptor

ENDLESS = 10**15
FACTORS = MapStateDescriptor("factors", Types.STRING(), Types.INT())


def environment(mode, parallelism=2, **options):
    config = Configuration().set_string("python.execution-mode", mode)
    for key, value in options.items():
        config.set_string(key, value)
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(parallelism)
    return env


class Scale(BroadcastProcessFunction):
    """Scales numbers by the broadcast factor; reports the state after each broadcast record."""

    def process_element(self, value, ctx):
        yield "scaled", value, ctx.get_broadcast_state(FACTORS).get("factor")

    def process_broadcast_element(self, value, ctx):
        from pyflink_rs.datastream.state import OperatorStateStore

        # The context is where the operator's (broadcast) state is found, as in PyFlink.
        assert isinstance(ctx, OperatorStateStore)
        state = ctx.get_broadcast_state(FACTORS)
        name, factor = value
        state.put(name, factor)
        yield "state", sorted(state.items())


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_every_instance_receives_the_broadcast_records_and_keeps_them_in_its_state(mode):
    env = environment(mode)
    rules = env.from_collection([("factor", 10), ("offset", 1)]).broadcast(FACTORS)
    assert isinstance(rules, BroadcastStream) and rules.get_broadcast_state_descriptors() == [FACTORS]
    connected = env.from_collection([1, 2, 3]).connect(rules)
    assert isinstance(connected, BroadcastConnectedStream)
    results = list(connected.process(Scale()).execute_and_collect())
    states = sorted(r[1] for r in results if r[0] == "state")
    # Two instances, each saw both broadcast records in order.
    assert states == sorted([[("factor", 10)], [("factor", 10)], [("factor", 10), ("offset", 1)],
                             [("factor", 10), ("offset", 1)]])
    scaled = sorted((r[1], r[2]) for r in results if r[0] == "scaled")
    assert [value for value, _ in scaled] == [1, 2, 3]
    # Whether a number came before the factor is up to the engine, as in Flink.
    assert all(factor in (None, 10) for _, factor in scaled)


class Writes(BroadcastProcessFunction):
    def process_element(self, value, ctx):
        state = ctx.get_broadcast_state(FACTORS)
        assert not hasattr(state, "put"), "read-only broadcast state has no put"
        state.clear()

    def process_broadcast_element(self, value, ctx):
        pass


class Undeclared(BroadcastProcessFunction):
    def process_element(self, value, ctx):
        ctx.get_broadcast_state(MapStateDescriptor("other", Types.STRING(), Types.INT()))

    def process_broadcast_element(self, value, ctx):
        pass


def test_broadcast_state_is_read_only_for_the_other_input_and_must_be_declared():
    env = environment("thread", parallelism=1)
    rules = env.from_collection([("factor", 10)]).broadcast(FACTORS)
    with pytest.raises(Exception, match="read-only here: change it in process_broadcast_element"):
        list(env.from_collection([1]).connect(rules).process(Writes()).execute_and_collect())
    rules = env.from_collection([("factor", 10)]).broadcast(FACTORS)
    with pytest.raises(Exception, match="'other' was not declared"):
        list(env.from_collection([1]).connect(rules).process(Undeclared()).execute_and_collect())
    rules = env.from_collection([("factor", 10)]).broadcast(FACTORS)
    with pytest.raises(TypeError, match="KeyedBroadcastProcessFunction on a keyed stream"):
        env.from_collection([1]).key_by(lambda v: v).connect(rules).process(Scale())
    with pytest.raises(Exception, match="Cannot override partitioning for KeyedStream"):
        env.from_collection([1]).key_by(lambda v: v).broadcast(FACTORS)


class TotalAtTheEnd(KeyedBroadcastProcessFunction):
    """Sums each key's numbers in keyed state and, when the key's event-time timer fires at the
    end of input, emits the sum scaled by the broadcast factor."""

    def open(self, runtime_context):
        self.total = runtime_context.get_state(ValueStateDescriptor("total", Types.LONG()))

    def process_element(self, value, ctx):
        self.total.update((self.total.value() or 0) + value)
        ctx.timer_service().register_event_time_timer(1_000_000)

    def process_broadcast_element(self, value, ctx):
        ctx.get_broadcast_state(FACTORS).put(*value)

    def on_timer(self, timestamp, ctx):
        factor = ctx.get_broadcast_state(FACTORS).get("factor")
        yield ctx.get_current_key(), self.total.value() * factor, timestamp


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_a_keyed_broadcast_function_has_keyed_state_timers_and_the_broadcast_state(mode):
    env = environment(mode)
    numbers = env.from_collection(list(range(1, 11)), Types.LONG()).assign_timestamps_and_watermarks(
        WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner(_ByValue())
    )
    rules = env.from_collection([("factor", 3)]).broadcast(FACTORS)
    totals = numbers.key_by(lambda v: v % 2).connect(rules).process(TotalAtTheEnd())
    # The timers fire with the final watermark, after both inputs ended: every broadcast
    # record has been processed by then.
    assert sorted(totals.execute_and_collect()) == [(0, 3 * 30, 1_000_000), (1, 3 * 25, 1_000_000)]


class _ByValue(TimestampAssigner):
    def extract_timestamp(self, value, record_timestamp):
        return value


class CountAndScale(KeyedBroadcastProcessFunction):
    """Counts each key's records in keyed state and emits (key, count, factor); counts what it
    saw in metrics."""

    def open(self, runtime_context):
        self.count = runtime_context.get_state(ValueStateDescriptor("count", Types.LONG()))
        self.seen = runtime_context.get_metrics_group().counter("seen")
        self.rules = runtime_context.get_metrics_group().counter("rules")

    def process_element(self, value, ctx):
        self.seen.inc()
        self.count.update((self.count.value() or 0) + 1)
        yield ctx.get_current_key(), self.count.value(), ctx.get_broadcast_state(FACTORS).get("factor")

    def process_broadcast_element(self, value, ctx):
        self.rules.inc()
        ctx.get_broadcast_state(FACTORS).put(*value)


def total(metrics, name):
    return sum(v for k, v in metrics.items() if k.startswith("joined.") and k.endswith(f".{name}"))


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_a_savepoint_restarts_a_broadcast_job_at_another_parallelism_with_both_states(mode, tmp_path):
    env = environment(mode, parallelism=2)
    env.enable_checkpointing(100)
    idle = env.from_source(NumberSequenceSource(1, ENDLESS), WatermarkStrategy.no_watermarks(), "idle")
    numbers = env.from_collection(list(range(100)), Types.LONG()).union(idle.filter(lambda v: False))
    rules = env.from_collection([("factor", 10)]).broadcast(FACTORS)
    joined = numbers.key_by(lambda v: v % 4).connect(rules).process(CountAndScale()).name("joined").uid("joined")
    joined.sink_to(DiscardingSink())
    client = env.execute_async("before")
    deadline = time.monotonic() + 60
    # Both instances saw the rule, and every number went through.
    while total(client.get_metrics(), "seen") < 100 or total(client.get_metrics(), "rules") < 2:
        assert time.monotonic() < deadline, client.get_metrics()
        time.sleep(0.05)
    path = client.stop_with_savepoint(False, str(tmp_path)).result()
    client.get_job_execution_result().result()
    assert client.get_job_status().result() is JobStatus.FINISHED

    env = environment(
        mode, parallelism=3, **{"execution.savepoint.path": path, "execution.savepoint.ignore-unclaimed-state": "true"}
    )
    rules = env.from_collection([("unrelated", 1)]).broadcast(FACTORS)
    after = env.from_collection([0, 1, 2, 3]).key_by(lambda v: v % 4).connect(rules).process(CountAndScale())
    assert sorted(after.uid("joined").execute_and_collect()) == [(k, 26, 10) for k in range(4)]
    assert os.path.isdir(path)
