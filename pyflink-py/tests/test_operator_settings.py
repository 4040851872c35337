"""Operator settings and partitioning of PyFlink's DataStream, in thread and process mode:
names show in the job's metrics, uids are unique within a job, `print()` and `sink_to()` return
a `DataStreamSink` that takes them too, and `forward`, `shuffle`, `rebalance`, `rescale` and
`broadcast` send records to the instances Flink's partitioners send them to."""

import json
from collections import Counter

import pytest

from pyflink_rs.common import Configuration, Types
from pyflink_rs.datastream import (
    DataStreamSink,
    MapFunction,
    Partitioner,
    SinkFunction,
    StreamExecutionEnvironment,
)
from pyflink_rs.datastream.connectors import DiscardingSink


def environment(mode, parallelism=1):
    config = Configuration().set_string("python.execution-mode", mode)
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(parallelism)
    return env


class Tagged(MapFunction):
    """Each record with the index of the instance that saw it, counted in a metric."""

    def open(self, runtime_context):
        self.index = runtime_context.get_index_of_this_subtask()
        self.seen = runtime_context.get_metrics_group().counter("seen")

    def map(self, value):
        self.seen.inc()
        return (value, self.index)


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_a_named_operator_shows_by_its_name_in_the_metrics(mode):
    env = environment(mode)
    stream = env.from_collection(list(range(10))).map(Tagged()).name("tagger").uid("tagger-v1")
    assert stream.get_name() == "tagger"
    sink = stream.sink_to(DiscardingSink())
    assert isinstance(sink, DataStreamSink)
    assert sink.name("dropped").uid("drop-v1").set_parallelism(1) is sink
    assert sink.get_name() == "dropped"
    metrics = env.execute("named").get_metrics()
    assert metrics["tagger.0.seen"] == 10, sorted(metrics)


def test_two_operators_of_one_uid_are_refused_naming_both():
    env = environment("thread")
    numbers = env.from_collection([1, 2, 3])
    numbers.map(lambda v: v + 1).name("first").uid("same").print()
    numbers.map(lambda v: v * 2).name("second").uid("same").print()
    with pytest.raises(Exception, match="uid 'same' is used by both"):
        env.execute("clash")


def test_settings_are_checked_as_flink_checks_them():
    env = environment("thread")
    stream = env.from_collection([1]).map(lambda v: v)
    with pytest.raises(ValueError, match="maximum parallelism"):
        stream.set_max_parallelism(0)
    stream.set_max_parallelism(2)
    with pytest.raises(ValueError, match="larger than its maximum parallelism 2"):
        stream.set_parallelism(3)
    with pytest.raises(ValueError, match="32 hexadecimal digits"):
        stream.set_uid_hash("abc")
    assert stream.set_uid_hash("0123456789abcdef0123456789ABCDEF") is stream
    chained = stream.set_description("identity").slot_sharing_group("g").start_new_chain().disable_chaining()
    assert chained is stream
    with pytest.raises(Exception, match="no parallelism"):
        stream.rebalance().set_parallelism(2)


def instances(mode, partition, parallelism=2, values=None):
    """Which instance of a map at `parallelism` saw each record after `partition`."""
    env = environment(mode)
    values = values if values is not None else list(range(12))
    source = env.from_collection(values)
    tagged = partition(source).map(Tagged()).set_parallelism(parallelism)
    return sorted(tagged.execute_and_collect())


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_broadcast_sends_every_record_to_every_instance(mode):
    seen = instances(mode, lambda s: s.broadcast(), parallelism=3, values=[1, 2])
    assert seen == [(1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2)]


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_rebalance_and_rescale_deal_records_round_robin(mode):
    for partition in (lambda s: s.rebalance(), lambda s: s.rescale()):
        seen = instances(mode, partition)
        assert sorted(value for value, _ in seen) == list(range(12))
        assert Counter(index for _, index in seen) == {0: 6, 1: 6}


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_shuffle_spreads_records_and_keeps_each_once(mode):
    seen = instances(mode, lambda s: s.shuffle(), values=list(range(200)))
    assert sorted(value for value, _ in seen) == list(range(200))
    counts = Counter(index for _, index in seen)
    assert set(counts) == {0, 1} and min(counts.values()) > 50, counts


def test_forward_keeps_each_record_on_its_instance_and_needs_equal_parallelism():
    env = environment("thread", parallelism=2)
    numbers = env.from_collection(list(range(20))).rebalance().map(Tagged()).name("first")

    class Again(MapFunction):
        def open(self, runtime_context):
            self.index = runtime_context.get_index_of_this_subtask()

        def map(self, value):
            return (value[0], value[1], self.index)

    seen = list(numbers.forward().map(Again()).execute_and_collect())
    assert len(seen) == 20 and all(first == second for _, first, second in seen), seen
    assert {first for _, first, _ in seen} == {0, 1}
    env = environment("thread", parallelism=1)
    narrow = env.from_collection([1, 2]).map(lambda v: v)
    with pytest.raises(Exception, match="(?i)forward"):
        list(narrow.forward().map(lambda v: v).set_parallelism(2).execute_and_collect())


def test_environment_settings_read_back_and_the_max_parallelism_bounds_operators():
    from pyflink_rs.datastream import CheckpointingMode

    env = environment("thread")
    assert env.get_max_parallelism() == 128
    assert env.get_checkpoint_interval() == -1
    assert env.get_checkpointing_mode() == CheckpointingMode.EXACTLY_ONCE
    env.enable_checkpointing(1500, CheckpointingMode.AT_LEAST_ONCE)
    assert env.get_checkpoint_interval() == 1500
    assert env.get_checkpointing_consistency_mode() == CheckpointingMode.AT_LEAST_ONCE
    env.configure(Configuration().set_string("execution.checkpointing.interval", "10 s"))
    assert env.get_checkpoint_interval() == 10_000
    with pytest.raises(ValueError, match="maximum parallelism"):
        env.set_max_parallelism(40_000)
    env.set_max_parallelism(4)
    assert env.get_max_parallelism() == 4
    env.from_collection([1, 2]).map(lambda v: v).set_parallelism(8).print()
    with pytest.raises(Exception, match="max parallelism 4"):
        env.execute("too wide")
    assert env.is_chaining_enabled() and not env.disable_operator_chaining().is_chaining_enabled()
    assert env.get_buffer_timeout() == 100 and env.set_buffer_timeout(5).get_buffer_timeout() == 5


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_a_runtime_context_names_its_task_with_its_subtask(mode):
    class Named(MapFunction):
        def open(self, runtime_context):
            self.name = runtime_context.get_task_name_with_subtasks()

        def map(self, value):
            return self.name

    env = environment(mode)
    names = env.from_collection([1, 2, 3, 4]).rebalance().map(Named()).name("namer").set_parallelism(2)
    assert sorted(set(names.execute_and_collect())) == ["namer (1/2)#0", "namer (2/2)#0"]


class ByRemainder(Partitioner):
    def partition(self, key, num_partitions):
        return key % num_partitions


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_partition_custom_sends_each_record_where_the_partitioner_says(mode):
    seen = instances(mode, lambda s: s.partition_custom(ByRemainder(), lambda v: v + 1), parallelism=3)
    assert seen == [(v, (v + 1) % 3) for v in range(12)]
    # A callable partitioner and key selector do the same.
    seen = instances(mode, lambda s: s.partition_custom(lambda key, n: 1, lambda v: v), parallelism=2)
    assert {index for _, index in seen} == {1}


def test_a_partition_out_of_range_or_a_failing_partitioner_fails_the_job():
    env = environment("thread", parallelism=2)
    env.from_collection([1, 2]).partition_custom(lambda key, n: n, lambda v: v).map(Tagged()).print()
    with pytest.raises(Exception, match="returned partition 2, but there are only 2 partitions"):
        env.execute("out of range")
    env = environment("thread", parallelism=2)
    env.from_collection([1, 2]).partition_custom(lambda key, n: 1 // 0, lambda v: v).map(Tagged()).print()
    with pytest.raises(Exception, match="ZeroDivisionError"):
        env.execute("failing")


def test_project_keeps_the_chosen_tuple_fields_with_their_types():
    env = environment("thread")
    stream = env.from_collection([(1, "a", 2.5), (2, "b", 3.5)], Types.TUPLE([Types.INT(), Types.STRING(), Types.DOUBLE()]))
    projected = stream.project(2, 0)
    assert projected.get_type() == Types.TUPLE([Types.DOUBLE(), Types.INT()])
    assert list(projected.execute_and_collect()) == [(2.5, 1), (3.5, 2)]
    with pytest.raises(Exception, match="Only Tuple DataStreams can be projected"):
        env.from_collection([1]).project(0)


class FileSink(SinkFunction):
    """Appends each record, and the instance that wrote it, to a file per instance."""

    def __init__(self, directory):
        self.directory = directory

    def open(self, runtime_context):
        self.file = open(f"{self.directory}/part-{runtime_context.get_index_of_this_subtask()}", "w")

    def invoke(self, value, context):
        self.file.write(f"{value}\n")

    def close(self):
        self.file.close()


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_add_sink_calls_a_python_sink_function_with_its_life_cycle(mode, tmp_path):
    env = environment(mode, parallelism=2)
    sink = env.from_collection(list(range(20))).rebalance().add_sink(FileSink(str(tmp_path))).name("files")
    assert isinstance(sink, DataStreamSink) and sink.get_name() == "files"
    env.execute("python sink")
    written = {path.name: path.read_text().split() for path in tmp_path.iterdir()}
    assert sorted(written) == ["part-0", "part-1"]
    assert sorted(int(v) for lines in written.values() for v in lines) == list(range(20))
    with pytest.raises(TypeError, match="SinkFunction"):
        env.from_collection([1]).add_sink(print)


def test_a_stream_knows_its_environment_and_the_execution_plan_shows_the_job():
    env = environment("thread", parallelism=2)
    stream = env.from_collection([1, 2]).rebalance().map(lambda v: v).name("double")
    assert stream.get_execution_environment() is env
    assert stream.get_execution_config().get_parallelism() == 2
    stream.key_by(lambda v: v).map(lambda v: v).print()
    plan = json.loads(env.get_execution_plan())
    nodes = {node["contents"]: node for node in plan["nodes"]}
    assert nodes["Collection Source"]["pact"] == "Data Source"
    assert nodes["Collection Source"]["parallelism"] == 1
    double = nodes["double"]
    assert double["predecessors"] == [{"id": nodes["Collection Source"]["id"], "ship_strategy": "REBALANCE", "side": "second"}]
    assert [p["ship_strategy"] for n in plan["nodes"] for p in n.get("predecessors", ())].count("HASH") == 1
    assert plan["nodes"][-1]["pact"] == "Data Sink"
    # Asking for the plan runs nothing and leaves the sinks to execute.
    assert env.execute("planned") is not None
