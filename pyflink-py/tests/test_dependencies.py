"""The Python dependencies of a job's functions: files, packages and zips made importable
(`add_python_file`, `python.files`), requirements installed with pip from a directory of
packages (`set_python_requirements`), archives unpacked where worker processes run
(`add_python_archive`) and the workers' interpreter (`python.executable`), in thread and in
process mode, from the DataStream and the Table API."""

import os
import stat
import sys
import textwrap
import zipfile

from pyflink_rs.common import Configuration, Types
from pyflink_rs.datastream import StreamExecutionEnvironment
from pyflink_rs.table import DataTypes
from pyflink_rs.table.udf import udf
from table_helpers import streaming


def environment(mode, **options):
    config = Configuration().set_string("python.execution-mode", mode)
    for key, value in options.items():
        config.set_string(key, value)
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(1)
    return env


def mapped(env, function):
    return list(env.from_collection([1, 2, 3]).map(function, output_type=Types.STRING()).execute_and_collect())


def test_a_module_file_shipped_with_add_python_file_is_imported_by_a_table_function(tmp_path):
    (tmp_path / "shipped_tripler.py").write_text("def triple(x):\n    return 3 * x\n")
    t_env = streaming(1)
    t_env.add_python_file(str(tmp_path / "shipped_tripler.py"))
    # A copy was taken: a later edit does not reach the job.
    (tmp_path / "shipped_tripler.py").write_text("def triple(x):\n    return 0\n")

    @udf(result_type=DataTypes.BIGINT())
    def tripled(x):
        import shipped_tripler
        return shipped_tripler.triple(x)

    t_env.create_temporary_system_function("tripled", tripled)
    with t_env.execute_sql("SELECT tripled(x) FROM (VALUES (1), (2)) AS t(x)").collect() as rows:
        assert sorted(row[0] for row in rows) == [3, 6]


def test_a_package_directory_reaches_worker_processes(tmp_path):
    package = tmp_path / "shipped_greetings"
    package.mkdir()
    (package / "__init__.py").write_text("def greet(n):\n    return f'hello {n}'\n")
    env = environment("process")
    env.add_python_file(str(package))

    def greeted(n):
        import shipped_greetings
        return shipped_greetings.greet(n)

    assert sorted(mapped(env, greeted)) == ["hello 1", "hello 2", "hello 3"]


def test_python_files_in_the_configuration_and_zips_of_modules(tmp_path):
    with zipfile.ZipFile(tmp_path / "zipped.zip", "w") as archive:
        archive.writestr("shipped_zipped_doubler.py", "def double(x):\n    return 2 * x\n")
    t_env = streaming(1)
    t_env.get_config().set("python.files", str(tmp_path / "zipped.zip"))

    @udf(result_type=DataTypes.BIGINT())
    def doubled(x):
        import shipped_zipped_doubler
        return shipped_zipped_doubler.double(x)

    t_env.create_temporary_system_function("doubled", doubled)
    with t_env.execute_sql("SELECT doubled(x) FROM (VALUES (21)) AS t(x)").collect() as rows:
        assert [row[0] for row in rows] == [42]


def a_wheel(directory, name, version, module_text):
    """A wheel of one module, `name`, written by hand (what `pip download` would fetch)."""
    path = directory / f"{name}-{version}-py3-none-any.whl"
    info = f"{name}-{version}.dist-info"
    files = {
        f"{name}.py": module_text,
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    with zipfile.ZipFile(path, "w") as wheel:
        for file, text in files.items():
            wheel.writestr(file, text)
        record = "".join(f"{file},,\n" for file in files) + f"{info}/RECORD,,\n"
        wheel.writestr(f"{info}/RECORD", record)
    return path


def test_requirements_are_installed_from_the_cache_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    packages = tmp_path / "packages"
    packages.mkdir()
    a_wheel(packages, "shipped_answer", "1.0", "VALUE = 42\n")
    (tmp_path / "requirements.txt").write_text("shipped_answer==1.0\n")
    env = environment("process")
    env.set_python_requirements(str(tmp_path / "requirements.txt"), str(packages))

    def answered(n):
        import shipped_answer
        return f"{n}:{shipped_answer.VALUE}"

    assert sorted(mapped(env, answered)) == ["1:42", "2:42", "3:42"]
    assert list((tmp_path / "cache" / "pyflink-rs" / "requirements").iterdir())


def test_a_requirement_that_cannot_be_installed_says_so_with_pips_words(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "requirements.txt").write_text("no_such_package_here==9.9\n")
    (tmp_path / "empty").mkdir()
    try:
        streaming(1).set_python_requirements(str(tmp_path / "requirements.txt"), str(tmp_path / "empty"))
    except RuntimeError as error:
        assert "no_such_package_here" in str(error)
    else:
        raise AssertionError("a missing requirement was installed")


def test_archives_are_unpacked_where_workers_run_and_python_executable_starts_them(tmp_path):
    launcher = textwrap.dedent(f"""\
        #!/bin/sh
        PYFLINK_RS_TEST_LAUNCHER=used exec {sys.executable} "$@"
    """)
    with zipfile.ZipFile(tmp_path / "shipped_env.zip", "w") as archive:
        archive.writestr("data/word.txt", "archived")
        script = zipfile.ZipInfo("bin/python")
        script.external_attr = (stat.S_IFREG | 0o755) << 16
        archive.writestr(script, launcher)
    env = environment("process")
    env.add_python_archive(str(tmp_path / "shipped_env.zip"), "myenv")
    env.set_python_executable("myenv/bin/python")

    def read(n):
        with open("myenv/data/word.txt") as file:
            return f"{n}:{file.read()}:{os.environ.get('PYFLINK_RS_TEST_LAUNCHER')}"

    try:
        assert sorted(mapped(env, read)) == ["1:archived:used", "2:archived:used", "3:archived:used"]
    finally:
        env.set_python_executable(sys.executable)
