"""Fault tolerance from Python, as PyFlink programs set it: `CheckpointConfig`, restart
strategies, state backends, checkpoint storage, `ExecutionConfig`, and savepoints taken with a
`JobClient` that a job restarts from at another parallelism."""

import os
import time

import pytest

from pyflink_rs.common import Configuration, ExecutionConfig, JobStatus, RestartStrategies, Types, WatermarkStrategy
from pyflink_rs.common.time import Time
from pyflink_rs.common.watermark_strategy import TimestampAssigner
from pyflink_rs.datastream import (
    CheckpointingMode,
    EmbeddedRocksDBStateBackend,
    ExternalizedCheckpointRetention,
    FileSystemCheckpointStorage,
    HashMapStateBackend,
    JobManagerCheckpointStorage,
    KeyedProcessFunction,
    MapFunction,
    MemorySize,
    PredefinedOptions,
    SlotSharingGroup,
    StreamExecutionEnvironment,
)
from pyflink_rs.datastream.connectors import DiscardingSink, NumberSequenceSource
from pyflink_rs.datastream.state import ValueStateDescriptor
from pyflink_rs.datastream.window import TumblingEventTimeWindows

ENDLESS = 10**15


def environment(mode="thread", parallelism=1):
    config = Configuration().set_string("python.execution-mode", mode)
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(parallelism)
    return env


def test_checkpoint_config_reads_back_what_it_sets_and_checks_values_as_flink_does():
    env = environment()
    config = env.get_checkpoint_config()
    assert not config.is_checkpointing_enabled() and config.get_checkpoint_interval() == -1
    config.set_checkpoint_interval(500)
    assert config.is_checkpointing_enabled() and env.get_checkpoint_interval() == 500
    config.set_checkpointing_mode(CheckpointingMode.AT_LEAST_ONCE)
    assert env.get_checkpointing_mode() is CheckpointingMode.AT_LEAST_ONCE
    config.set_checkpoint_timeout(30_000)
    config.set_min_pause_between_checkpoints(100)
    config.set_max_concurrent_checkpoints(2)
    config.set_tolerable_checkpoint_failure_number(3)
    assert (config.get_checkpoint_timeout(), config.get_min_pause_between_checkpoints()) == (30_000, 100)
    assert (config.get_max_concurrent_checkpoints(), config.get_tolerable_checkpoint_failure_number()) == (2, 3)
    assert not config.is_fail_on_checkpointing_errors()
    config.set_fail_on_checkpointing_errors(True)
    assert config.get_tolerable_checkpoint_failure_number() == 0
    assert not config.is_externalized_checkpoints_enabled()
    config.set_externalized_checkpoint_retention(ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION)
    assert config.get_externalized_checkpoint_retention() is ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION
    config.enable_unaligned_checkpoints()
    assert config.is_unaligned_checkpoints_enabled() and not config.is_force_unaligned_checkpoints()
    assert env.is_unaligned_checkpoints_enabled() and not env.is_force_unaligned_checkpoints()
    for wrong, message in [
        (lambda: config.set_checkpoint_interval(5), "larger than or equal to 10 ms"),
        (lambda: config.set_checkpoint_timeout(1), "larger than or equal to 10 ms"),
        (lambda: config.set_min_pause_between_checkpoints(-1), "zero or positive"),
        (lambda: config.set_max_concurrent_checkpoints(0), "at least one"),
        (lambda: config.set_tolerable_checkpoint_failure_number(-1), "non-negative"),
    ]:
        with pytest.raises(ValueError, match=message):
            wrong()
    config.set_checkpoint_interval(-1)
    assert not config.is_checkpointing_enabled()


class SlowCount(MapFunction):
    """Counts records in a metric, slowly enough for a few checkpoints to happen."""

    def open(self, runtime_context):
        self.seen = runtime_context.get_metrics_group().counter("seen")

    def map(self, value):
        self.seen.inc()
        time.sleep(0.001)
        return value


def test_checkpoints_go_to_the_storage_directory_and_are_kept_as_the_retention_says(tmp_path):
    env = environment()
    config = env.get_checkpoint_config()
    config.set_checkpoint_interval(50)
    config.set_checkpoint_storage(FileSystemCheckpointStorage(f"file://{tmp_path}"))
    assert config.get_checkpoint_storage() == FileSystemCheckpointStorage(str(tmp_path))
    config.set_externalized_checkpoint_retention(ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION)
    env.from_source(NumberSequenceSource(1, ENDLESS), WatermarkStrategy.no_watermarks(), "numbers").map(
        SlowCount()
    ).sink_to(DiscardingSink())
    client = env.execute_async("checkpointed")
    deadline = time.monotonic() + 30
    while not list(tmp_path.glob("*/chk-*/_metadata")):
        assert time.monotonic() < deadline, "no checkpoint was written"
        time.sleep(0.05)
    client.cancel().result()
    assert client.get_job_status().result() is JobStatus.CANCELED
    job_dirs = list(tmp_path.iterdir())
    assert [d.name for d in job_dirs] == [str(client.get_job_id())], "one directory, named by the job id"
    assert list(job_dirs[0].glob("chk-*/_metadata")), "retained after cancellation"
    # Storage in memory (JobManagerCheckpointStorage without a path) unsets the directory.
    config.set_checkpoint_storage(JobManagerCheckpointStorage())
    assert config.get_checkpoint_storage() == JobManagerCheckpointStorage()
    assert "execution.checkpointing.dir" not in env._options


def fail_first(marker_dir, failures):
    """A map that fails the first `failures` attempts of the job (counted in files, which
    outlive restarts) and then passes records through."""

    def check(value):
        attempts = len(os.listdir(marker_dir))
        if value == 1:
            open(os.path.join(marker_dir, f"attempt-{attempts}"), "w").close()
            if attempts < failures:
                raise RuntimeError(f"failure {attempts + 1}")
        return value

    return check


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_a_fixed_delay_restart_strategy_restarts_as_often_as_it_allows(mode, tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    env = environment(mode)
    env.set_restart_strategy(RestartStrategies.fixed_delay_restart(2, 10))
    assert env.get_restart_strategy() == RestartStrategies.fixed_delay_restart(2, 10)
    assert sorted(env.from_collection([1, 2, 3]).map(fail_first(str(markers), 2)).execute_and_collect()) == [1, 2, 3]
    assert len(os.listdir(markers)) == 3, "two failed attempts, then one that succeeded"

    for marker in markers.iterdir():
        marker.unlink()
    env.set_restart_strategy(RestartStrategies.fixed_delay_restart(1, 10))
    with pytest.raises(Exception, match="failure 2"):
        list(env.from_collection([1, 2, 3]).map(fail_first(str(markers), 2)).execute_and_collect())


def test_failure_rate_and_no_restart_strategies_fail_the_job_when_flink_would(tmp_path):
    env = environment()
    # Three failures within a minute are allowed as two restarts: the third fails the job.
    env.set_restart_strategy(RestartStrategies.failure_rate_restart(3, 60_000, 0))
    markers = tmp_path / "rate"
    markers.mkdir()
    with pytest.raises(Exception, match="failure 3"):
        list(env.from_collection([1]).map(fail_first(str(markers), 5)).execute_and_collect())
    assert len(os.listdir(markers)) == 3
    env.set_restart_strategy(RestartStrategies.no_restart())
    env.enable_checkpointing(1000)
    markers = tmp_path / "none"
    markers.mkdir()
    with pytest.raises(Exception, match="failure 1"):
        list(env.from_collection([1]).map(fail_first(str(markers), 1)).execute_and_collect())
    # Falling back unsets the strategy: with checkpointing, the job restarts by default.
    env.set_restart_strategy(RestartStrategies.fall_back_restart())
    assert "restart-strategy.type" not in env._options
    assert RestartStrategies.no_restart().get_description() == "Restart deactivated."


class SeesRocksDB(KeyedProcessFunction):
    """Emits, per key, whether RocksDB's working files are under `directory` while it runs."""

    def __init__(self, directory):
        self.directory = directory

    def open(self, runtime_context):
        self.count = runtime_context.get_state(ValueStateDescriptor("count", Types.LONG()))

    def process_element(self, value, ctx):
        self.count.update((self.count.value() or 0) + 1)
        yield ctx.get_current_key(), self.count.value(), any(
            name.startswith("pyflink-rocksdb") for name in os.listdir(self.directory)
        )


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_the_rocksdb_state_backend_keeps_keyed_state_under_its_storage_paths(mode, tmp_path):
    env = environment(mode)
    backend = EmbeddedRocksDBStateBackend(enable_incremental_checkpointing=True)
    backend.set_db_storage_paths(str(tmp_path))
    backend.set_predefined_options(PredefinedOptions.FLASH_SSD_OPTIMIZED)
    env.set_state_backend(backend)
    assert env.get_state_backend() == backend and backend.is_incremental_checkpoints_enabled()
    results = env.from_collection(["a", "b", "a"]).key_by(lambda v: v).process(SeesRocksDB(str(tmp_path)))
    assert sorted(results.execute_and_collect()) == [("a", 1, True), ("a", 2, True), ("b", 1, True)]
    env.set_state_backend(HashMapStateBackend())
    assert env.get_state_backend() == HashMapStateBackend()
    assert "state.backend.rocksdb.localdir" not in env._options
    results = env.from_collection(["a"]).key_by(lambda v: v).process(SeesRocksDB(str(tmp_path)))
    assert list(results.execute_and_collect()) == [("a", 1, False)], "state on the heap"


class Parameterized(MapFunction):
    def open(self, runtime_context):
        self.suffix = runtime_context.get_job_parameter("suffix", "-")

    def map(self, value):
        return f"{value}{self.suffix}"


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_execution_config_sets_job_parameters_that_functions_read(mode):
    env = environment(mode)
    config = env.get_config()
    assert isinstance(config, ExecutionConfig)
    assert list(env.from_collection(["a"]).map(Parameterized()).execute_and_collect()) == ["a-"]
    config.set_global_job_parameters({"suffix": "!", "quoted": "a,b:c'd"})
    assert config.get_global_job_parameters() == {"suffix": "!", "quoted": "a,b:c'd"}
    assert list(env.from_collection(["a"]).map(Parameterized()).execute_and_collect()) == ["a!"]
    keyed = env.from_collection(["b"]).key_by(lambda v: v).map(Parameterized())
    assert list(keyed.execute_and_collect()) == ["b!"]


def test_execution_config_reads_back_its_settings():
    env = environment(parallelism=3)
    config = env.get_config()
    assert config.get_parallelism() == 3 and config.set_parallelism(2) is config and env.get_parallelism() == 2
    config.set_max_parallelism(64)
    assert env.get_max_parallelism() == 64
    assert config.get_auto_watermark_interval() == 200
    config.set_auto_watermark_interval(50)
    assert config.get_auto_watermark_interval() == 50
    assert not config.is_object_reuse_enabled() and config.enable_object_reuse().is_object_reuse_enabled()
    assert config.has_auto_generated_uids_enabled()
    assert config.disable_generic_types().has_generic_types_disabled()
    assert config.is_closure_cleaner_enabled() and not config.disable_closure_cleaner().is_closure_cleaner_enabled()
    assert config.get_registered_kryo_types() == [] and config.get_default_kryo_serializer_classes() == {}
    with pytest.raises(ValueError):
        config.set_auto_watermark_interval(-1)


def test_slot_sharing_groups_are_checked_and_kept():
    group = (
        SlotSharingGroup.builder("heavy").set_cpu_cores(1.5).set_task_heap_memory_mb(100)
        .set_managed_memory(MemorySize.of_mebi_bytes(64)).set_external_resource("gpu", 1).build()
    )
    assert (group.get_name(), group.get_cpu_cores(), group.get_task_heap_memory().get_mebi_bytes()) == ("heavy", 1.5, 100)
    assert str(group.get_managed_memory()) == "64 mb" and group.get_external_resources() == {"gpu": 1.0}
    with pytest.raises(ValueError, match="set together"):
        SlotSharingGroup.builder("half").set_cpu_cores(1).build()
    env = environment()
    env.register_slot_sharing_group(group)
    stream = env.from_collection([1]).map(lambda v: v + 1).slot_sharing_group(group)
    assert list(stream.execute_and_collect()) == [2]
    assert MemorySize(bytes_size=1024) < MemorySize.of_mebi_bytes(1)


class CountPerKey(KeyedProcessFunction):
    """Counts the records of each key in keyed state, emitting (key, count), and counts the
    records it saw in a metric."""

    def open(self, runtime_context):
        self.count = runtime_context.get_state(ValueStateDescriptor("count", Types.LONG()))
        self.seen = runtime_context.get_metrics_group().counter("seen")

    def process_element(self, value, ctx):
        self.seen.inc()
        self.count.update((self.count.value() or 0) + 1)
        yield ctx.get_current_key(), self.count.value()


def wait_until_seen(client, operator, count):
    """Waits until the instances of `operator` counted `count` records in their "seen" metric."""
    deadline = time.monotonic() + 60
    metrics = client.get_metrics()
    while sum(v for k, v in metrics.items() if k.startswith(f"{operator}.") and k.endswith(".seen")) < count:
        assert time.monotonic() < deadline, metrics
        time.sleep(0.05)
        metrics = client.get_metrics()


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_stop_with_savepoint_restarts_a_python_job_at_another_parallelism_with_its_keyed_state(mode, tmp_path):
    env = environment(mode, parallelism=2)
    env.enable_checkpointing(100)
    env.set_default_savepoint_directory(str(tmp_path))
    records = env.from_collection(list(range(100)), Types.LONG()).uid("records")
    # An endless source that sends nothing keeps the job running after the records.
    idle = env.from_source(NumberSequenceSource(1, ENDLESS), WatermarkStrategy.no_watermarks(), "idle")
    merged = records.union(idle.filter(lambda v: False).uid("nothing"))
    merged.key_by(lambda v: v % 4).process(CountPerKey()).name("counter").uid("counter").sink_to(DiscardingSink())
    client = env.execute_async("before the savepoint")
    wait_until_seen(client, "counter", 100)
    path = client.stop_with_savepoint().result()
    assert os.path.dirname(path) == str(tmp_path)
    assert os.path.basename(path).startswith(f"savepoint-{str(client.get_job_id())[:6]}-")
    client.get_job_execution_result().result()
    assert client.get_job_status().result() is JobStatus.FINISHED

    config = Configuration()
    config.set_string("python.execution-mode", mode)
    config.set_string("execution.savepoint.path", path)
    config.set_string("execution.savepoint.ignore-unclaimed-state", "true")
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(3)
    after = env.from_collection([0, 1, 2, 3]).key_by(lambda v: v % 4).process(CountPerKey()).uid("counter")
    assert sorted(after.execute_and_collect()) == [(0, 26), (1, 26), (2, 26), (3, 26)]


def endless(env):
    source = env.from_source(NumberSequenceSource(1, ENDLESS), WatermarkStrategy.no_watermarks(), "numbers")
    source.map(lambda v: v).sink_to(DiscardingSink())


def test_trigger_savepoint_keeps_the_job_running_and_needs_checkpointing(tmp_path):
    env = environment()
    endless(env)
    client = env.execute_async("unchecked")
    with pytest.raises(ValueError, match="No savepoint directory"):
        client.trigger_savepoint()
    with pytest.raises(Exception, match="savepoints need checkpointing"):
        client.trigger_savepoint(str(tmp_path)).result()
    client.cancel().result()

    env.enable_checkpointing(100)
    endless(env)
    client = env.execute_async("checked")
    path = client.trigger_savepoint(str(tmp_path)).result()
    assert os.path.exists(os.path.join(path, "_metadata"))
    assert client.get_job_status().result() is JobStatus.RUNNING
    client.cancel().result()


class ValueAsTime(TimestampAssigner):
    def extract_timestamp(self, value, record_timestamp):
        return value


class Seen(MapFunction):
    """Counts its records in a "seen" metric."""

    def open(self, runtime_context):
        self.seen = runtime_context.get_metrics_group().counter("seen")

    def map(self, value):
        self.seen.inc()
        return value


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_stop_with_drain_fires_every_event_time_window_then_finishes(tmp_path, mode):
    env = environment(mode)
    env.enable_checkpointing(60_000)
    fired = tmp_path / "fired"
    strategy = WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner(ValueAsTime())
    numbers = env.from_source(NumberSequenceSource(1, ENDLESS), strategy, "numbers")
    # Event time goes 1 ms a record: windows of ten years never end while the job runs.
    windows = numbers.map(Seen()).name("read").key_by(lambda v: v % 3).window(TumblingEventTimeWindows.of(Time.days(3650)))
    maxima = windows.reduce(lambda a, b: max(a, b)).name("maxima")
    maxima.map(lambda v: fired.open("a").write(f"{v}\n")).sink_to(DiscardingSink())
    client = env.execute_async("drained")
    # In process mode the map runs chained with the key selector, under both their names.
    deadline = time.monotonic() + 60
    while sum(v for k, v in client.get_metrics().items() if k.startswith("read") and k.endswith(".seen")) < 1000:
        assert time.monotonic() < deadline, client.get_metrics()
        time.sleep(0.05)
    assert not fired.exists()
    path = client.stop_with_savepoint(True, str(tmp_path / "savepoints")).result()
    assert os.path.exists(os.path.join(path, "_metadata"))
    client.get_job_execution_result().result()
    assert client.get_job_status().result() is JobStatus.FINISHED
    # Each key's window fired once, with the last number of that key the source read.
    maxima = sorted(int(line) for line in fired.read_text().split())
    assert len(maxima) == 3 and sorted(m % 3 for m in maxima) == [0, 1, 2]
    assert maxima[-1] - maxima[0] == 2 and maxima[0] >= 1000


class CountingMap:
    """A map with operator state (a CheckpointedFunction): each instance counts its records in
    a list state and names itself in a union list state; after a restore it reports what it
    got back."""

    def __new__(cls):
        from pyflink_rs.datastream import CheckpointedFunction, MapFunction

        class Counting(MapFunction, CheckpointedFunction):
            def open(self, runtime_context):
                assert hasattr(self, "counts"), "initialize_state runs before open, as in Flink"
                self.index = runtime_context.get_index_of_this_subtask()
                self.seen = runtime_context.get_metrics_group().counter("seen")

            def initialize_state(self, context):
                from pyflink_rs.datastream.state import ListStateDescriptor

                store = context.get_operator_state_store()
                self.counts = store.get_list_state(ListStateDescriptor("counts", Types.LONG()))
                self.names = store.get_union_list_state(ListStateDescriptor("names", Types.STRING()))
                self.restored = (context.is_restored(), sum(self.counts.get()), tuple(sorted(self.names.get())))
                self.count = 0

            def snapshot_state(self, context):
                assert context.get_checkpoint_id() > 0
                self.counts.update([self.restored[1] + self.count])
                self.names.update([f"instance {self.index}"])

            def map(self, value):
                self.seen.inc()
                self.count += 1
                return (self.index,) + self.restored

        return Counting()


def test_operator_state_of_a_checkpointed_function_is_split_or_unioned_across_a_rescale(tmp_path):
    env = environment("thread", parallelism=2)
    env.enable_checkpointing(100)
    env.set_default_savepoint_directory(str(tmp_path))
    records = env.from_collection(list(range(100)), Types.LONG()).uid("records")
    idle = env.from_source(NumberSequenceSource(1, ENDLESS), WatermarkStrategy.no_watermarks(), "idle")
    merged = records.union(idle.filter(lambda v: False).uid("nothing")).rebalance()
    merged.map(CountingMap()).name("counting").uid("counting").sink_to(DiscardingSink())
    client = env.execute_async("counting")
    wait_until_seen(client, "counting", 100)
    path = client.stop_with_savepoint().result()
    client.get_job_execution_result().result()

    config = Configuration()
    config.set_string("execution.savepoint.path", path)
    config.set_string("execution.savepoint.ignore-unclaimed-state", "true")
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(3)
    after = env.from_collection(list(range(30)), Types.LONG()).rebalance().map(CountingMap()).uid("counting")
    reports = set(after.execute_and_collect())
    assert {index for index, *_ in reports} == {0, 1, 2}, reports
    assert all(restored for _, restored, _, _ in reports)
    # The two counts (of 100 records) are split over the three new instances; the names are
    # given whole to each.
    assert sum(count for _, _, count, _ in reports) == 100
    assert all(names == ("instance 0", "instance 1") for *_, names in reports)

    env = environment("process")
    env.from_collection([1, 2]).map(CountingMap()).sink_to(DiscardingSink())
    with pytest.raises(Exception, match="python.execution-mode: thread"):
        env.execute("process mode")
