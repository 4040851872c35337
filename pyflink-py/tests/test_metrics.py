"""Metrics from Python functions: counters, gauges, meters and distributions registered in
open(), reported in the job's result, in thread and process mode."""

import pytest

from pyflink_rs.common import Configuration
from pyflink_rs.datastream import KeyedProcessFunction, MapFunction, StreamExecutionEnvironment
from pyflink_rs.datastream.connectors import DiscardingSink


class Measured(MapFunction):
    def open(self, runtime_context):
        group = runtime_context.get_metrics_group()
        self.records = group.counter("records")
        self.events = group.meter("events", time_span_in_seconds=30)
        self.sizes = group.add_group("payload").distribution("size")
        self.last = 0
        group.gauge("last", lambda: self.last)

    def map(self, value):
        self.records.inc()
        self.events.mark_event(2)
        self.sizes.update(len(value))
        self.last = len(value)
        return value


def run(mode, values, parallelism):
    config = Configuration().set_string("python.execution-mode", mode)
    config.set_integer("python.fn-execution.bundle.size", 7)
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(parallelism)
    env.from_collection(values).map(Measured()).sink_to(DiscardingSink())
    return env.execute("measured").get_metrics()


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_function_metrics_reach_the_jobs_result(mode):
    values = ["x" * (n % 5 + 1) for n in range(100)]
    metrics = run(mode, values, parallelism=2)
    instances = [f"Map.{i}" for i in range(2)]
    assert sum(metrics[f"{m}.records"] for m in instances) == 100
    assert sum(metrics[f"{m}.events"]["count"] for m in instances) == 200
    assert all(metrics[f"{m}.events"]["rate"] >= 0 for m in instances)
    sizes = [metrics[f"{m}.payload.size"] for m in instances if metrics[f"{m}.payload.size"]["count"]]
    assert sum(s["count"] for s in sizes) == 100
    assert sum(s["sum"] for s in sizes) == sum(len(v) for v in values)
    assert min(s["min"] for s in sizes) == 1 and max(s["max"] for s in sizes) == 5
    assert all(1 <= metrics[f"{m}.last"] <= 5 for m in instances if f"{m}.last" in metrics)


def test_keyed_functions_count_per_instance():
    class Counting(KeyedProcessFunction):
        def open(self, runtime_context):
            self.seen = runtime_context.get_metrics_group().add_group("keys", "all").counter("seen")

        def process_element(self, value, ctx):
            self.seen.inc()
            yield value

    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(1)
    env.from_collection(list(range(30))).key_by(lambda v: v % 3).process(Counting()).sink_to(DiscardingSink())
    result = env.execute("keyed metrics")
    assert result.get_metrics()["KeyedProcess.0.keys.all.seen"] == 30
    assert result.get_net_runtime() >= 0
