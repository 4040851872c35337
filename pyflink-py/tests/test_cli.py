"""The `pyflink-rs` command (`pyflink-rs run -py job.py`, as Flink's `flink run`): a job run by
it prints what it prints when run by Python, and its flags reach the job's environments and, in
process mode, its workers."""

import os
import pathlib
import socket
import subprocess
import sys
import sysconfig
import textwrap
import time

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples" / "python"
COMMAND = pathlib.Path(sysconfig.get_path("scripts")) / "pyflink-rs"


def pyflink_rs(*args, cwd=None):
    run = subprocess.run([str(COMMAND), *args], capture_output=True, text=True, timeout=300, cwd=cwd,
                         env={k: v for k, v in os.environ.items() if k != "PYFLINK_RS_OPTIONS"})
    return run


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_wheel_installs_the_command_and_word_count_prints_what_python_prints():
    assert COMMAND.exists(), f"no console script at {COMMAND}"
    direct = subprocess.run([sys.executable, str(EXAMPLES / "word_count.py")], capture_output=True, text=True,
                            timeout=300)
    by_command = pyflink_rs("run", "-py", str(EXAMPLES / "word_count.py"))
    assert by_command.returncode == 0, by_command.stderr
    assert by_command.stdout == direct.stdout and "(state,2)" in direct.stdout


JOB = textwrap.dedent("""
    import sys
    from pyflink_rs.datastream import StreamExecutionEnvironment
    from shipped import shout

    env = StreamExecutionEnvironment.get_execution_environment()
    print("parallelism", env.get_parallelism())
    print("args", sys.argv[1:])
    print("out", sorted(env.from_collection(["a", "b"]).map(lambda v: shout(v)).execute_and_collect()))
""")


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_flags_reach_the_program_and_shipped_files_are_importable_in_every_process(mode, tmp_path):
    shipped = tmp_path / "deps"
    shipped.mkdir()
    (shipped / "shipped.py").write_text("import os\n\ndef shout(v):\n    return v.upper() + '!'\n")
    job = tmp_path / "job.py"
    job.write_text(JOB)
    run = pyflink_rs("run", "-p", "3", "-D", f"python.execution-mode={mode}", "-pyfs", str(shipped),
                     "-py", str(job), "first", "--second")
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["parallelism 3", "args ['first', '--second']", "out ['A!', 'B!']"]


def test_a_module_runs_with_its_arguments(tmp_path):
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "__init__.py").write_text("")
    (tmp_path / "jobs" / "hello.py").write_text("import sys\nprint('hello', sys.argv[1:], __name__)\n")
    run = pyflink_rs("run", "-pym", "jobs.hello", "x", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "hello ['x'] __main__\n"


def test_bad_command_lines_say_what_to_fix(tmp_path):
    neither = pyflink_rs("run")
    assert neither.returncode != 0 and "-py file.py or as -pym module" in neither.stderr
    missing = pyflink_rs("run", "-py", str(tmp_path / "nope.py"))
    assert missing.returncode != 0 and "no Python file at" in missing.stderr
    bad = pyflink_rs("run", "-D", "novalue", "-py", str(EXAMPLES / "word_count.py"))
    assert bad.returncode != 0 and "-D takes key=value" in bad.stderr
    zero = pyflink_rs("run", "-p", "0", "-py", str(EXAMPLES / "word_count.py"))
    assert zero.returncode != 0 and "at least 1" in zero.stderr


ENDLESS = textwrap.dedent("""
    from pyflink_rs.common import WatermarkStrategy
    from pyflink_rs.datastream import StreamExecutionEnvironment
    from pyflink_rs.datastream.connectors import DiscardingSink, NumberSequenceSource

    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(1)
    env.enable_checkpointing(60000)
    numbers = env.from_source(NumberSequenceSource(1, 2 ** 62), WatermarkStrategy.no_watermarks(), "numbers")
    numbers.sink_to(DiscardingSink())
    env.execute("endless")
""")


def running_job(address=None, timeout=60):
    """The id of the job `pyflink-rs list` shows running, once it shows one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listed = pyflink_rs("list", *(["-m", address] if address else []))
        lines = [line for line in listed.stdout.splitlines() if line.endswith(": endless (RUNNING)")]
        if lines:
            return lines[0].split(" : ")[1]
        time.sleep(0.2)
    raise AssertionError(f"no running job listed: {listed.stdout} {listed.stderr}")


def test_list_savepoint_and_cancel_act_on_a_job_through_its_rest_api(tmp_path):
    job_file = tmp_path / "endless.py"
    job_file.write_text(ENDLESS)
    port = free_port()
    process = subprocess.Popen([str(COMMAND), "run", "-D", f"rest.port={port}", "-py", str(job_file)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        job_id = running_job(f"localhost:{port}")
        saved = pyflink_rs("savepoint", "-m", f"localhost:{port}", job_id, str(tmp_path / "savepoint"))
        assert saved.returncode == 0, saved.stderr
        location = saved.stdout.split("Savepoint completed. Path: file:")[1].splitlines()[0]
        assert (pathlib.Path(location) / "_metadata").exists()
        unknown = pyflink_rs("cancel", "-m", f"localhost:{port}", "0" * 32)
        assert unknown.returncode == 1 and f"no job {'0' * 32} at localhost:{port}" in unknown.stderr
        cancelled = pyflink_rs("cancel", "-m", f"localhost:{port}", job_id)
        assert cancelled.stdout == f"Cancelling job {job_id}.\nCancelled job {job_id}.\n", cancelled.stderr
        process.wait(timeout=60)
        # The job's process ended with its job, and its REST API with it.
        gone = pyflink_rs("cancel", "-m", f"localhost:{port}", job_id)
        assert gone.returncode == 1 and "cannot reach the REST API" in gone.stderr
    finally:
        process.kill()
        process.wait()


@pytest.mark.parametrize("drain", [False, True])
def test_without_an_address_the_commands_find_the_jobs_of_local_runs(tmp_path, drain):
    job_file = tmp_path / "endless.py"
    job_file.write_text(ENDLESS)
    process = subprocess.Popen([str(COMMAND), "run", "-py", str(job_file)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        job_id = running_job()
        stopped = pyflink_rs("stop", *(["-d"] if drain else []), "-p", str(tmp_path / "stopped"), job_id)
        assert stopped.returncode == 0, stopped.stderr
        verb = "Draining" if drain else "Suspending"
        assert f'{verb} job "{job_id}" with a CANONICAL savepoint.' in stopped.stdout
        assert "Savepoint completed. Path: file:" in stopped.stdout
        assert process.wait(timeout=60) == 0, "a stopped job ends as FINISHED"
    finally:
        process.kill()
        process.wait()


def test_list_shows_ended_jobs_with_all(tmp_path):
    job_file = tmp_path / "short.py"
    job_file.write_text(textwrap.dedent("""
        import subprocess, sys
        from pyflink_rs.datastream import StreamExecutionEnvironment
        env = StreamExecutionEnvironment.get_execution_environment()
        env.set_parallelism(1)
        env.from_collection([1, 2]).print()
        env.execute("short")
        # While this process still serves its API, list the job that ended.
        port = sys.argv[1]
        listing = subprocess.run([sys.argv[2], "list", "-a", "-m", f"localhost:{port}"], capture_output=True, text=True)
        print(listing.stdout, end="")
    """))
    port = free_port()
    run = pyflink_rs("run", "-D", f"rest.port={port}", "-py", str(job_file), str(port), str(COMMAND))
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[:4] == ["1", "2", "Waiting for response...", "No running jobs."], lines
    assert lines[4] == "---------------------- Terminated Jobs -----------------------"
    assert lines[5].endswith(": short (FINISHED)") and len(lines[5].split(" : ")[1]) == 32
