"""pyflink-rs: Apache Flink's DataStream API for Python, on a Rust engine with no JVM.

Programs written for PyFlink run with their imports changed from ``pyflink`` to
``pyflink_rs``::

    from pyflink_rs.datastream import StreamExecutionEnvironment

    env = StreamExecutionEnvironment.get_execution_environment()
    env.from_collection([1, 2, 3]).map(lambda x: x * 2).print()
    env.execute("doubled")
"""

from pyflink_rs._native import engine_version

__version__ = engine_version()

__all__ = ["__version__"]
