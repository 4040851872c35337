"""Throughput of Python functions in SQL, on one worker (parallelism 1), in rows/s.

(a) datagen of N rows -> Python scalar function `x * 2 + 1` (@udf) -> blackhole, thread mode
(a') the same in process mode (a worker process per instance, fed a batch of rows at a time)
(b) the same with a pandas function (@udf(func_type="pandas"), a batch of rows per call)
(c) an async function awaiting asyncio.sleep(0.01) per row, 1000 calls in flight (N / 100 rows)

Run against an installed wheel built in the release profile (`pip install ./pyflink-py`):

    python pyflink-py/benches/python_udf.py [rows] [--pyflink PYTHON]

With `--pyflink PYTHON` (an interpreter with `apache-flink` installed, and Java), the same jobs
also run on PyFlink in the same run, and each line gets PyFlink's figure and the ratio.
"""

import argparse
import asyncio
import importlib
import json
import os
import subprocess
import sys
import time

# Per engine: the package whose `table` module runs the jobs.
ENGINES = {"pyflink-rs": "pyflink_rs", "pyflink": "pyflink"}


def table_environment(package, config):
    table = importlib.import_module(f"{package}.table")
    t_env = table.TableEnvironment.create(table.EnvironmentSettings.in_streaming_mode())
    t_env.get_config().set("parallelism.default", "1")
    # PyFlink's workers (and its embedded interpreter in thread mode) run this interpreter.
    t_env.get_config().set("python.executable", sys.executable)
    for key, value in config.items():
        t_env.get_config().set(key, value)
    return t_env


def source_and_sink(t_env, rows):
    t_env.execute_sql(f"""
        CREATE TABLE numbers (x BIGINT) WITH (
          'connector' = 'datagen', 'number-of-rows' = '{rows}', 'rows-per-second' = '1000000000',
          'fields.x.kind' = 'sequence', 'fields.x.start' = '1', 'fields.x.end' = '{rows}')""")
    t_env.execute_sql("CREATE TABLE sink (y BIGINT) WITH ('connector' = 'blackhole')")


def scalar(package):
    udf = importlib.import_module(f"{package}.table.udf").udf
    types = importlib.import_module(f"{package}.table").DataTypes
    return udf(lambda x: x * 2 + 1, result_type=types.BIGINT())


def pandas_scalar(package):
    udf = importlib.import_module(f"{package}.table.udf").udf
    types = importlib.import_module(f"{package}.table").DataTypes
    return udf(lambda x: x * 2 + 1, result_type=types.BIGINT(), func_type="pandas")


def sleeping(package):
    udf = importlib.import_module(f"{package}.table.udf").udf
    types = importlib.import_module(f"{package}.table").DataTypes

    async def twice_plus_one(x):
        await asyncio.sleep(0.01)
        return x * 2 + 1

    return udf(twice_plus_one, result_type=types.BIGINT())


ASYNC_CONFIG = {
    "table.exec.async-scalar.max-concurrent-operations": "1000",
    "table.exec.async-scalar.buffer-capacity": "1000",
}

# name, function, configuration, share of the rows
JOBS = [
    ("(a) scalar @udf x * 2 + 1, thread mode", scalar, {"python.execution-mode": "thread"}, 1),
    ("(a') scalar @udf x * 2 + 1, process mode", scalar, {"python.execution-mode": "process"}, 1),
    ("(b) pandas @udf x * 2 + 1", pandas_scalar, {}, 1),
    ("(c) async @udf sleeping 10 ms, 1000 in flight", sleeping, ASYNC_CONFIG, 100),
]


def measure(package, rows, tolerant=False):
    """Best of three runs of each job, in rows/s; when `tolerant`, a job the engine cannot
    run is left out (and said on standard error)."""
    figures = {}
    for name, function, config, share in JOBS:
        count = max(rows // share, 1)
        best = 0.0
        try:
            for _ in range(3):
                t_env = table_environment(package, config)
                source_and_sink(t_env, count)
                t_env.create_temporary_system_function("f", function(package))
                start = time.perf_counter()
                t_env.execute_sql("INSERT INTO sink SELECT f(x) FROM numbers").wait()
                best = max(best, count / (time.perf_counter() - start))
        except Exception as error:
            if not tolerant:
                raise
            print(f"{package} cannot run {name}: {error}", file=sys.stderr)
            continue
        figures[name] = (best, count)
    return figures


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("rows", nargs="?", type=int, default=2_000_000)
    parser.add_argument("--pyflink", help="a Python with apache-flink installed, to compare with")
    parser.add_argument("--engine", default="pyflink-rs", choices=ENGINES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine != "pyflink-rs":
        # The comparison run: figures as JSON for the parent process.
        print(json.dumps(measure(ENGINES[args.engine], args.rows, tolerant=True)))
        return
    ours = measure("pyflink_rs", args.rows)
    theirs = {}
    if args.pyflink:
        command = [args.pyflink, __file__, str(args.rows), "--engine", "pyflink"]
        # PyFlink's thread mode embeds an interpreter that does not see a virtualenv's
        # packages unless they are on PYTHONPATH.
        site = subprocess.run([args.pyflink, "-c", "import site; print(site.getsitepackages()[0])"],
                              capture_output=True, text=True, check=True).stdout.strip()
        environment = dict(os.environ, PYTHONPATH=site)
        done = subprocess.run(command, capture_output=True, text=True, env=environment)
        if done.returncode != 0 or not done.stdout.strip():
            sys.exit(f"the PyFlink run failed:\n{done.stderr}")
        theirs = json.loads(done.stdout.strip().splitlines()[-1])
    for name, (figure, count) in ours.items():
        line = f"{name}: {figure:,.0f} rows/s (best of 3, {count:,} rows)"
        if name in theirs:
            line += f"; PyFlink {theirs[name][0]:,.0f} rows/s, {figure / theirs[name][0]:.1f}x"
        print(line)


if __name__ == "__main__":
    sys.exit(main())
