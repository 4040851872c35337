"""Throughput of Python functions on pyflink-rs, on one worker (parallelism 1), in records/s.

(a) sequence -> Python map -> key_by (Python key selector) -> Python reduce, in thread mode
    and in process mode (`python.execution-mode: process`)
(b) sequence -> key_by -> Python KeyedProcessFunction keeping a running average in two
    ValueStates (count and sum), in thread and process mode

Run against an installed wheel built in the release profile (`pip install ./pyflink-py`):

    python pyflink-py/benches/python_pipeline.py [records] [keys] [bundle size]
"""

import sys
import time

from pyflink_rs.common import Configuration, Types, WatermarkStrategy
from pyflink_rs.datastream import KeyedProcessFunction, StreamExecutionEnvironment
from pyflink_rs.datastream.connectors import DiscardingSink, NumberSequenceSource
from pyflink_rs.datastream.state import ValueStateDescriptor


class RunningAverage(KeyedProcessFunction):
    def open(self, runtime_context):
        self.count = runtime_context.get_state(ValueStateDescriptor("count", Types.LONG()))
        self.total = runtime_context.get_state(ValueStateDescriptor("total", Types.LONG()))

    def process_element(self, value, ctx):
        count = (self.count.value() or 0) + 1
        total = (self.total.value() or 0) + value
        self.count.update(count)
        self.total.update(total)
        yield total / count


def numbers(env, records):
    return env.from_source(NumberSequenceSource(1, records), WatermarkStrategy.no_watermarks(), "numbers")


def map_key_by_reduce(env, records, keys):
    return (
        numbers(env, records)
        .map(lambda n: (n % keys, 1))
        .key_by(lambda pair: pair[0])
        .reduce(lambda a, b: (a[0], a[1] + b[1]))
    )


def keyed_running_average(env, records, keys):
    return numbers(env, records).key_by(lambda n: n % keys).process(RunningAverage())


def measure(name, build, records, keys, mode, bundle_size):
    config = Configuration()
    config.set_string("python.execution-mode", mode)
    config.set_integer("python.fn-execution.bundle.size", bundle_size)
    best = 0.0
    for _ in range(3):
        env = StreamExecutionEnvironment.get_execution_environment(config)
        env.set_parallelism(1)
        build(env, records, keys).sink_to(DiscardingSink())
        start = time.perf_counter()
        env.execute(name)
        best = max(best, records / (time.perf_counter() - start))
    print(f"{name}: {best:,.0f} records/s (best of 3, {records:,} records, {keys:,} keys, {mode} mode)")


def main():
    records = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000_000
    keys = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000
    bundle_size = int(sys.argv[3]) if len(sys.argv) > 3 else 100_000
    measure("(a) map -> key_by -> reduce", map_key_by_reduce, records, keys, "thread", bundle_size)
    measure("(a) map -> key_by -> reduce", map_key_by_reduce, records, keys, "process", bundle_size)
    measure("(b) KeyedProcessFunction running average", keyed_running_average, records, keys, "thread", bundle_size)
    measure("(b) KeyedProcessFunction running average", keyed_running_average, records, keys, "process", bundle_size)


if __name__ == "__main__":
    main()
