"""Process mode (`python.execution-mode: process`): functions run in worker processes over
bundles of records, with the same results as thread mode."""

import collections
import os
import pathlib
import random
import subprocess
import sys
import textwrap

import pytest

from pyflink_rs.common import Configuration, Types
from pyflink_rs.datastream import KeyedProcessFunction, MapFunction, StreamExecutionEnvironment


def environment(mode="process", bundle_size=None, parallelism=2):
    config = Configuration()
    config.set_string("python.execution-mode", mode)
    if bundle_size is not None:
        config.set_integer("python.fn-execution.bundle.size", bundle_size)
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(parallelism)
    return env


def word_counts(env, lines):
    return (
        env.from_collection(lines)
        .flat_map(lambda line: line.split())
        .filter(lambda word: not word.startswith("#"))
        .map(lambda word: (word, 1), output_type=Types.TUPLE([Types.STRING(), Types.INT()]))
        .key_by(lambda pair: pair[0])
        .reduce(lambda a, b: (a[0], a[1] + b[1]))
    )


@pytest.mark.parametrize("bundle_size", [1, 7, 100_000])
def test_process_mode_gives_the_results_of_thread_mode(bundle_size):
    rng = random.Random(bundle_size)
    words = ["alpha", "beta", "gamma", "delta", "#skip", "epsilon"]
    lines = [" ".join(rng.choice(words) for _ in range(rng.randint(0, 6))) for _ in range(300)]
    processed = list(word_counts(environment("process", bundle_size), lines).execute_and_collect())
    threaded = list(word_counts(environment("thread"), lines).execute_and_collect())
    # Per key, the rolling counts come in order, whatever the mode: compare them key by key.
    def by_key(results):
        grouped = collections.defaultdict(list)
        for word, count in results:
            grouped[word].append(count)
        return dict(grouped)

    assert by_key(processed) == by_key(threaded)
    expected = collections.Counter(w for line in lines for w in line.split() if not w.startswith("#"))
    assert {word: counts[-1] for word, counts in by_key(processed).items()} == dict(expected)


def test_function_classes_and_open_run_in_the_worker():
    class Tagged(MapFunction):
        def open(self, runtime_context):
            self.pid = os.getpid()

        def map(self, value):
            return value, os.getpid()

    results = list(environment(parallelism=1).from_collection([1, 2, 3]).map(Tagged()).execute_and_collect())
    assert [value for value, _ in results] == [1, 2, 3]
    assert {pid for _, pid in results} != {os.getpid()}


def test_an_exception_in_a_worker_fails_the_job_with_its_traceback():
    def broken(value):
        raise KeyError(f"no such thing: {value}")

    stream = environment().from_collection([1, 2]).map(broken)
    with pytest.raises(Exception) as failure:
        list(stream.execute_and_collect())
    message = str(failure.value)
    assert "no such thing" in message and "in broken" in message and "worker process of 'Map'" in message


def test_process_mode_refuses_what_it_does_not_run_yet_and_bad_options():
    from pyflink_rs.datastream.window import ProcessingTimeSessionWindows

    sessions = ProcessingTimeSessionWindows.with_dynamic_gap(lambda element: 10)
    stream = environment().from_collection([1]).key_by(lambda v: v).window(sessions).reduce(lambda a, b: a)
    with pytest.raises(Exception, match="does not run session windows with a dynamic gap yet"):
        list(stream.execute_and_collect())
    for key, value, message in [
        ("python.execution-mode", "processes", "must be 'thread' or 'process'"),
        ("python.fn-execution.bundle.size", "0", "bundle.size must be a whole number above 0"),
        ("python.fn-execution.bundle.time", "soon", "bundle.time must be milliseconds"),
    ]:
        config = Configuration().set_string(key, value)
        with pytest.raises(Exception, match=message):
            StreamExecutionEnvironment.get_execution_environment(config)


def worker_children():
    """The worker processes this process started that are still running."""
    children = []
    for task in pathlib.Path(f"/proc/{os.getpid()}/task").iterdir():
        try:
            pids = (task / "children").read_text().split()
        except (FileNotFoundError, ProcessLookupError):
            continue  # the thread ended while we looked
        for pid in pids:
            try:
                command = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if b"pyflink_rs.worker" in command:
                children.append(pid)
    return children


def test_workers_end_with_the_job_whether_it_succeeds_or_fails():
    assert list(environment().from_collection([1, 2, 3]).map(lambda v: v + 1).execute_and_collect())
    with pytest.raises(Exception):
        list(environment().from_collection([1, 2, 3]).map(lambda v: 1 / 0).execute_and_collect())
    assert worker_children() == []


def test_print_in_a_worker_reaches_standard_output(tmp_path):
    script = tmp_path / "printing.py"
    script.write_text(
        textwrap.dedent(
            """
            from pyflink_rs.common import Configuration
            from pyflink_rs.datastream import StreamExecutionEnvironment

            config = Configuration().set_string("python.execution-mode", "process")
            env = StreamExecutionEnvironment.get_execution_environment(config)
            env.set_parallelism(1)

            def shout(value):
                print(f"seen {value}")
                return value

            env.from_collection([1, 2]).map(shout).print()
            env.execute("printing")
            """
        )
    )
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert "seen 1" in run.stdout and "seen 2" in run.stdout, run.stdout
    assert lines.count("1") == 1 and lines.count("2") == 1, run.stdout


def test_chains_and_branches_give_the_results_of_thread_mode():
    rng = random.Random(3)
    lines = [" ".join(rng.choice(["a", "bb", "ccc", "dd"]) for _ in range(rng.randint(1, 5))) for _ in range(200)]

    def build(env):
        words = env.from_collection(lines).flat_map(lambda line: line.split())
        # `words` has two readers, so it runs in a worker of its own; each branch chains.
        lengths = words.map(len).filter(lambda n: n > 1).map(lambda n: ("length", n))
        counts = words.map(lambda w: (w, 1)).key_by(lambda pair: pair[0]).reduce(lambda a, b: (a[0], a[1] + b[1]))
        return lengths.union(counts)

    for bundle_size in (5, 100_000):
        processed = sorted(build(environment("process", bundle_size)).execute_and_collect())
        assert processed == sorted(build(environment("thread")).execute_and_collect())


def test_logging_in_a_worker_reaches_standard_error_at_the_programs_level(tmp_path):
    script = tmp_path / "logging_job.py"
    script.write_text(
        textwrap.dedent(
            """
            import logging
            from pyflink_rs.common import Configuration
            from pyflink_rs.datastream import StreamExecutionEnvironment

            logging.basicConfig(level=logging.INFO)
            config = Configuration().set_string("python.execution-mode", "process")
            env = StreamExecutionEnvironment.get_execution_environment(config)
            env.set_parallelism(1)

            def noted(value):
                logging.getLogger("udf").info("handling %s", value)
                logging.getLogger("udf").debug("not shown %s", value)
                return value

            env.from_collection([5]).map(noted).print()
            env.execute("logging")
            """
        )
    )
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "INFO [Map (1/1)] udf - handling 5" in run.stderr, run.stderr
    assert "not shown" not in run.stderr


class Sessions(KeyedProcessFunction):
    """Per key: a running total in ValueState, the amounts in ListState, counts per amount in
    MapState, and a summary when event time passes the key's last amount by 100 ms."""

    def open(self, runtime_context):
        from pyflink_rs.datastream.state import ListStateDescriptor, MapStateDescriptor, ValueStateDescriptor

        self.total = runtime_context.get_state(ValueStateDescriptor("total", Types.LONG()))
        self.amounts = runtime_context.get_list_state(ListStateDescriptor("amounts", Types.LONG()))
        self.counts = runtime_context.get_map_state(MapStateDescriptor("counts", Types.LONG(), Types.LONG()))
        self.fired = runtime_context.get_metrics_group().counter("fired")

    def process_element(self, value, ctx):
        key, time, amount = value
        self.total.update((self.total.value() or 0) + amount)
        self.amounts.add(amount)
        self.counts.put(amount, (self.counts.get(amount) or 0) + 1)
        ctx.timer_service().register_event_time_timer(time + 100)
        yield "running", key, self.total.value()

    def on_timer(self, timestamp, ctx):
        self.fired.inc()
        amounts = sorted(self.amounts.get())
        yield "summary", ctx.get_current_key(), sum(amounts), dict(self.counts.items()), timestamp


def sessions(env, events):
    from pyflink_rs.common import WatermarkStrategy
    from pyflink_rs.common.watermark_strategy import TimestampAssigner

    class Second(TimestampAssigner):
        def extract_timestamp(self, value, record_timestamp):
            return value[1]

    strategy = WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner(Second())
    return env.from_collection(events).assign_timestamps_and_watermarks(strategy).key_by(lambda e: e[0]).process(
        Sessions()
    )


@pytest.mark.parametrize("bundle_size", [1, 4, 100_000])
def test_keyed_process_functions_keep_state_and_timers_in_process_mode(bundle_size):
    rng = random.Random(bundle_size)
    events = sorted(((rng.choice("abc"), t, rng.randint(1, 3)) for t in range(0, 400, 7)), key=lambda e: e[1])
    processed = list(sessions(environment("process", bundle_size), events).execute_and_collect())
    threaded = list(sessions(environment("thread"), events).execute_and_collect())

    def per_key(results):
        grouped = collections.defaultdict(list)
        for result in results:
            grouped[result[1]].append(result)
        return dict(grouped)

    # Per key, records and timers come in the same order in both modes.
    assert per_key(processed) == per_key(threaded)
    assert any(result[0] == "summary" for result in processed)


def test_process_functions_side_outputs_and_keyed_maps_run_in_process_mode():
    from pyflink_rs.datastream import OutputTag, ProcessFunction
    from pyflink_rs.datastream.state import ValueStateDescriptor

    odd = OutputTag("odd", Types.STRING())

    class Split(ProcessFunction):
        def open(self, runtime_context):
            self.offset = runtime_context.get_number_of_parallel_subtasks() * 0 + 100

        def process_element(self, value, ctx):
            if value % 2:
                yield odd, f"odd {value}"
            else:
                yield value + self.offset

    class Numbered(MapFunction):
        def open(self, runtime_context):
            self.seen = runtime_context.get_state(ValueStateDescriptor("seen", Types.LONG()))

        def map(self, value):
            count = (self.seen.value() or 0) + 1
            self.seen.update(count)
            return value % 3, count

    for bundle_size in (2, 100_000):
        env = environment("process", bundle_size)
        split = env.from_collection(list(range(10))).process(Split())
        assert sorted(split.execute_and_collect()) == [100, 102, 104, 106, 108]
        assert sorted(split.get_side_output(odd).execute_and_collect()) == sorted(f"odd {n}" for n in range(1, 10, 2))
        numbered = environment("process", bundle_size).from_collection(list(range(9))).key_by(lambda v: v % 3).map(
            Numbered()
        )
        assert sorted(numbered.execute_and_collect()) == [(k, c) for k in range(3) for c in (1, 2, 3)]


def test_time_windows_reduce_aggregate_and_side_outputs_run_in_process_mode():
    from pyflink_rs.common import Time, WatermarkStrategy
    from pyflink_rs.common.watermark_strategy import TimestampAssigner
    from pyflink_rs.datastream import OutputTag, ProcessWindowFunction
    from test_windows import Average
    from pyflink_rs.datastream.window import TumblingEventTimeWindows

    big = OutputTag("big")

    class Second(TimestampAssigner):
        def extract_timestamp(self, value, record_timestamp):
            return value[1]

    class Labelled(ProcessWindowFunction):
        def process(self, key, context, elements):
            (value,) = elements
            if value > 5:
                yield big, (key, context.window().start)
            yield key, context.window().start, value

    def windows(env):
        events = [(k, t, t % 10) for t in range(0, 60, 3) for k in "ab"]
        strategy = WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner(Second())
        keyed = env.from_collection(events).assign_timestamps_and_watermarks(strategy).key_by(lambda e: e[0])
        tumbling = TumblingEventTimeWindows.of(Time.milliseconds(20))
        sums = keyed.window(tumbling).reduce(lambda x, y: (x[0], max(x[1], y[1]), x[2] + y[2]))
        means = keyed.window(tumbling).aggregate(Average(), Labelled())
        return sums, means

    processed_sums, processed_means = windows(environment("process"))
    threaded_sums, threaded_means = windows(environment("thread"))
    assert sorted(processed_sums.execute_and_collect()) == sorted(threaded_sums.execute_and_collect())
    assert sorted(processed_means.execute_and_collect()) == sorted(threaded_means.execute_and_collect())
    assert sorted(processed_means.get_side_output(big).execute_and_collect()) == sorted(
        threaded_means.get_side_output(big).execute_and_collect()
    )


def test_count_windows_run_in_process_mode():
    from test_windows import Average

    def windows(env):
        keyed = env.from_collection([(k, n, n) for n in range(20) for k in "xy"]).key_by(lambda r: r[0])
        sliding = keyed.count_window(3, 2).reduce(lambda a, b: (a[0], a[1], a[2] + b[2]))
        tumbling = keyed.count_window(4).aggregate(Average())
        return sliding, tumbling

    processed = windows(environment("process", 3))
    threaded = windows(environment("thread"))
    for mine, theirs in zip(processed, threaded):
        assert sorted(mine.execute_and_collect()) == sorted(theirs.execute_and_collect())
