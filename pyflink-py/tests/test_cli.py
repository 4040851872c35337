"""The `pyflink-rs` command (`pyflink-rs run -py job.py`, as Flink's `flink run`): a job run by
it prints what it prints when run by Python, and its flags reach the job's environments and, in
process mode, its workers."""

import os
import pathlib
import subprocess
import sys
import sysconfig
import textwrap

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples" / "python"
COMMAND = pathlib.Path(sysconfig.get_path("scripts")) / "pyflink-rs"


def pyflink_rs(*args, cwd=None):
    run = subprocess.run([str(COMMAND), *args], capture_output=True, text=True, timeout=300, cwd=cwd,
                         env={k: v for k, v in os.environ.items() if k != "PYFLINK_RS_OPTIONS"})
    return run


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
