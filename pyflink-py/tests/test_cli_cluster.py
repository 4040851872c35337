"""Python jobs on clusters of processes through the command: `pyflink-rs run --processes N`
starts N local processes that run the job together, and `--hosts file --process-id I` runs one
process of a cluster; what they print together is what one process prints."""

import glob
import os
import pathlib
import signal
import subprocess
import textwrap
import time

import pytest

from test_cli import COMMAND, EXAMPLES, free_port, pyflink_rs


def sorted_lines(text):
    return sorted(line for line in text.splitlines() if line.strip())


def last_sums(stdout):
    """The last (largest) running sum printed for each key, from lines like ``3> (5,1234)``."""
    sums = {}
    for line in sorted_lines(stdout):
        key, total = line.split("> ")[-1].strip("()").split(",")
        sums[int(key)] = max(sums.get(int(key), 0), int(total))
    return sums


def sums_by_remainder(records, divisor):
    """The sums of 1..records by their remainder of ``divisor``."""
    sums = {}
    for n in range(1, records + 1):
        sums[n % divisor] = sums.get(n % divisor, 0) + n
    return sums


def test_word_count_on_two_processes_prints_the_single_process_result():
    alone = pyflink_rs("run", "-py", str(EXAMPLES / "word_count.py"))
    together = pyflink_rs("run", "--processes", "2", "-py", str(EXAMPLES / "word_count.py"))
    assert alone.returncode == 0 and together.returncode == 0, together.stderr
    assert sorted_lines(together.stdout) == sorted_lines(alone.stdout)
    assert "(state,2)" in together.stdout


JOB = textwrap.dedent("""
    import os
    from pyflink_rs.common import Types
    from pyflink_rs.datastream import StreamExecutionEnvironment
    from shipped import weight

    env = StreamExecutionEnvironment.get_execution_environment()
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"] * 25
    (
        env.from_collection(words)
        .map(lambda w: (w, weight(w)), output_type=Types.TUPLE([Types.STRING(), Types.INT()]))
        .key_by(lambda pair: pair[0])
        .reduce(lambda a, b: (a[0], a[1] + b[1]))
        .filter(lambda pair: pair[1] >= 25 * weight(pair[0]))
        .print()
    )
    env.execute("weighted words")
""")


@pytest.fixture
def job(tmp_path):
    shipped = tmp_path / "deps"
    shipped.mkdir()
    (shipped / "shipped.py").write_text("def weight(word):\n    return len(word) * 10\n")
    path = tmp_path / "job.py"
    path.write_text(JOB)
    return path, shipped


def test_a_shipped_module_works_in_every_process_and_the_result_equals_one_process(job):
    path, shipped = job
    alone = pyflink_rs("run", "-p", "4", "-pyfs", str(shipped), "-py", str(path))
    assert alone.returncode == 0, alone.stderr
    together = pyflink_rs("run", "--processes", "2", "--threads", "2", "-pyfs", str(shipped), "-py", str(path))
    assert together.returncode == 0, together.stderr
    assert sorted_lines(together.stdout) == sorted_lines(alone.stdout)
    # Eight totals, printed by subtasks of both processes (1-2 on process 0, 3-4 on process 1).
    lines = sorted_lines(together.stdout)
    assert len(lines) == 8 and "(epsilon,1750)" in together.stdout
    subtasks = {int(line.split(">")[0]) for line in lines}
    assert subtasks & {1, 2} and subtasks & {3, 4}, lines


def test_hosts_and_process_id_run_one_process_of_a_cluster(job, tmp_path):
    path, shipped = job
    ports = [free_port(), free_port()]
    hosts = tmp_path / "hosts"
    hosts.write_text("# one line a process\n" + "".join(f"127.0.0.1:{port}\n" for port in ports))
    env = {k: v for k, v in os.environ.items() if k != "PYFLINK_RS_OPTIONS"}
    processes = [
        subprocess.Popen([str(COMMAND), "run", "--hosts", str(hosts), "--process-id", str(i), "--threads", "2",
                          "-pyfs", str(shipped), "-py", str(path)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for i in range(2)
    ]
    outputs = [p.communicate(timeout=300) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], [err for _, err in outputs]
    alone = pyflink_rs("run", "-p", "4", "-pyfs", str(shipped), "-py", str(path))
    assert sorted_lines(outputs[0][0] + outputs[1][0]) == sorted_lines(alone.stdout)


@pytest.mark.parametrize("flags, message", [
    (["--hosts", "h"], "--hosts needs --process-id"),
    (["--process-id", "1"], "--process-id needs --hosts"),
    (["--processes", "0"], "--processes must be at least 1"),
    (["--processes", "2", "--hosts", "h", "--process-id", "0"], "not both"),
])
def test_cluster_flags_that_cannot_work_are_refused(flags, message):
    run = pyflink_rs("run", *flags, "-py", str(EXAMPLES / "word_count.py"))
    assert run.returncode != 0 and message in run.stderr, run.stderr


def test_a_failing_process_fails_the_command(tmp_path):
    path = tmp_path / "bad.py"
    path.write_text(textwrap.dedent("""
        from pyflink_rs.datastream import StreamExecutionEnvironment

        def check(n):
            if n == 77:
                raise ValueError("seventy-seven is not allowed")
            return n

        env = StreamExecutionEnvironment.get_execution_environment()
        env.from_collection(list(range(200))).rebalance().map(check).filter(lambda n: n < 0).print()
        env.execute("bad")
    """))
    run = pyflink_rs("run", "--processes", "2", "--threads", "2", "-py", str(path))
    assert run.returncode != 0
    assert "seventy-seven is not allowed" in run.stderr


RECOVERING_JOB = textwrap.dedent("""
    import glob
    import os
    import sys
    import time
    from pyflink_rs.common import Types
    from pyflink_rs.common.restart_strategy import RestartStrategies
    from pyflink_rs.datastream import StreamExecutionEnvironment

    checkpoints, marker = sys.argv[1], sys.argv[2]

    def slowly(n):
        if n % 10 == 0:
            time.sleep(0.002)
        # Fails once, after the cluster completed a checkpoint.
        if n >= 1500 and not os.path.exists(marker) and glob.glob(os.path.join(checkpoints, "*", "chk-*", "_metadata")):
            open(marker, "w").write(str(n))
            raise RuntimeError(f"failing at {n}")
        return (n % 7, n)

    env = StreamExecutionEnvironment.get_execution_environment()
    env.enable_checkpointing(30)
    env.set_restart_strategy(RestartStrategies.fixed_delay_restart(3, 50))
    (
        env.from_collection(list(range(1, 4001)))
        .rebalance()
        .map(slowly, output_type=Types.TUPLE([Types.INT(), Types.LONG()]))
        .key_by(lambda pair: pair[0])
        .reduce(lambda a, b: (a[0], a[1] + b[1]))
        .print()
    )
    env.execute("recovering sums")
""")


def test_a_python_job_on_two_processes_recovers_from_the_clusters_checkpoint(tmp_path):
    path = tmp_path / "recovering.py"
    path.write_text(RECOVERING_JOB)
    checkpoints, marker = tmp_path / "checkpoints", tmp_path / "failed"
    run = pyflink_rs("run", "--processes", "2", "--threads", "2", "-D", f"execution.checkpointing.dir={checkpoints}",
                     "-py", str(path), str(checkpoints), str(marker))
    assert run.returncode == 0, run.stderr
    assert marker.exists(), "the job never failed"
    assert last_sums(run.stdout) == sums_by_remainder(4000, 7)


SLOW_JOB = textwrap.dedent("""
    import time
    from pyflink_rs.common import Types
    from pyflink_rs.datastream import StreamExecutionEnvironment

    def slowly(n):
        if n % 2 == 0:
            time.sleep(0.001)
        return (n % 7, n)

    env = StreamExecutionEnvironment.get_execution_environment()
    env.enable_checkpointing(50)
    (
        env.from_collection(list(range(1, 8001)))
        .rebalance()
        .map(slowly, output_type=Types.TUPLE([Types.INT(), Types.LONG()]))
        .key_by(lambda pair: pair[0])
        .reduce(lambda a, b: (a[0], a[1] + b[1]))
        .print()
    )
    env.execute("slow sums")
""")


def _child_with_process_id(parent, process_id):
    """The pid of ``parent``'s child that runs as process ``process_id`` of its cluster."""
    for child in pathlib.Path(f"/proc/{parent}/task/{parent}/children").read_text().split():
        try:
            environ = pathlib.Path(f"/proc/{child}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"PYFLINK_RS_PROCESS_ID={process_id}".encode() in environ:
            return int(child)
    return None


@pytest.mark.parametrize("victim, message", [
    (1, "process 1 died (signal 9); starting it again"),
    (0, "process 0 died (signal 9); starting the cluster again, the job from its newest checkpoint"),
])
def test_a_killed_process_is_started_again_and_the_job_loses_and_doubles_nothing(tmp_path, victim, message):
    path = tmp_path / "slow.py"
    path.write_text(SLOW_JOB)
    checkpoints = tmp_path / "checkpoints"
    env = {k: v for k, v in os.environ.items() if k != "PYFLINK_RS_OPTIONS"}
    supervisor = subprocess.Popen(
        [str(COMMAND), "run", "--processes", "2", "--threads", "2", "-D",
         f"execution.checkpointing.dir={checkpoints}", "-D",
         "execution.checkpointing.externalized-checkpoint-retention=RETAIN_ON_CANCELLATION", "-py", str(path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + 120
    while not glob.glob(str(checkpoints / "*" / "chk-*" / "_metadata")):
        assert time.time() < deadline and supervisor.poll() is None, "no checkpoint completed"
        time.sleep(0.01)
    pid = _child_with_process_id(supervisor.pid, victim)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    out, err = supervisor.communicate(timeout=300)
    assert supervisor.returncode == 0, err
    assert message in err
    assert last_sums(out) == sums_by_remainder(8000, 7)
    # One job id throughout (the command fixes it), so a cluster started again resumed the job.
    assert len(list(checkpoints.iterdir())) == 1
