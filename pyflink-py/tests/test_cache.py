"""Cached intermediate results (`DataStream.cache()`), the environment's `close()`, and
`register_cached_file`, in thread and process mode."""

import pytest

from pyflink_rs.common import Configuration, Types
from pyflink_rs.datastream import CachedDataStream, RuntimeExecutionMode, StreamExecutionEnvironment
from pyflink_rs.datastream.connectors import DiscardingSink


def environment(mode):
    env = StreamExecutionEnvironment.get_execution_environment(
        Configuration().set_string("python.execution-mode", mode)
    )
    env.set_parallelism(2)
    env.set_runtime_mode(RuntimeExecutionMode.BATCH)
    return env


class Counted:
    """Counts the records a map sees, through a file, since process mode runs it elsewhere."""

    def __init__(self, path):
        self.path = path

    def __call__(self, value):
        with open(self.path, "a") as seen:
            seen.write("x")
        return value * 10

    def count(self):
        try:
            with open(self.path) as seen:
                return len(seen.read())
        except FileNotFoundError:
            return 0


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_a_cached_stream_is_computed_once_and_read_by_later_jobs(mode, tmp_path):
    env = environment(mode)
    counted = Counted(tmp_path / "seen")
    cached = env.from_collection(list(range(20)), Types.INT()).map(counted, Types.INT()).cache()
    assert isinstance(cached, CachedDataStream)
    assert sorted(cached.execute_and_collect()) == [n * 10 for n in range(20)]
    assert counted.count() == 20
    # Later jobs read the cache: the map does not run again.
    assert sorted(cached.map(lambda v: v + 1).execute_and_collect()) == [n * 10 + 1 for n in range(20)]
    assert sorted(cached.filter(lambda v: v % 20 == 0).execute_and_collect()) == [n * 10 for n in range(0, 20, 2)]
    assert counted.count() == 20
    # Invalidated, it is computed again, and cached again.
    cached.invalidate()
    assert sorted(cached.execute_and_collect()) == [n * 10 for n in range(20)]
    assert counted.count() == 40
    env.close()
    assert len(list(cached.execute_and_collect())) == 20
    assert counted.count() == 60


def test_a_job_that_fails_or_is_cut_short_leaves_no_cache(tmp_path):
    env = environment("thread")
    counted = Counted(tmp_path / "seen")
    cached = env.from_collection(list(range(10))).map(counted).cache()
    assert cached.execute_and_collect(limit=3) is not None
    broken = cached.map(lambda v: 1 // 0)
    with pytest.raises(Exception, match="ZeroDivisionError"):
        list(broken.execute_and_collect())
    before = counted.count()
    assert sorted(cached.execute_and_collect()) == [n * 10 for n in range(10)]
    assert counted.count() == before + 10
    # env.execute() completes a cache too.
    cached.invalidate()
    cached.map(lambda v: v).sink_to(DiscardingSink())
    env.execute("fill the cache")
    seen = counted.count()
    assert sorted(cached.execute_and_collect()) == [n * 10 for n in range(10)]
    assert counted.count() == seen


def test_cache_is_refused_where_flink_refuses_it():
    env = environment("thread")
    stream = env.from_collection([1, 2, 3])
    with pytest.raises(Exception, match="Cache for KeyedStream is not supported"):
        stream.key_by(lambda v: v).cache()
    cached = stream.cache()
    with pytest.raises(Exception, match="Set parallelism for CachedDataStream is not supported"):
        cached.set_parallelism(3)
    with pytest.raises(Exception, match="Set name for CachedDataStream is not supported"):
        cached.name("x")
    streaming = StreamExecutionEnvironment.get_execution_environment()
    streaming.enable_checkpointing(1000)
    with pytest.raises(Exception, match="without checkpointing"):
        streaming.from_collection([1]).cache().map(lambda v: v)


def test_register_cached_file_checks_the_file_when_the_job_starts(tmp_path):
    env = StreamExecutionEnvironment.get_execution_environment()
    data = tmp_path / "lookup.txt"
    data.write_text("a=1\n")
    env.register_cached_file(f"file://{data}", "lookup")
    assert env._options["pipeline.cached-files"] == f"name:lookup,path:{data},executable:false"
    assert list(env.from_collection([1]).execute_and_collect()) == [1]
    env.register_cached_file(str(tmp_path / "missing.txt"), "missing", True)
    env.from_collection([1]).print()
    with pytest.raises(FileNotFoundError, match="cached file 'missing'"):
        env.execute()
    with pytest.raises(ValueError, match="only local files"):
        env.register_cached_file("hdfs://namenode/x", "remote")
