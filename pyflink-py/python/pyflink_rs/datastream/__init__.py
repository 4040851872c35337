"""PyFlink's DataStream API: environments, streams and the function classes."""

from pyflink_rs.datastream.functions import (
    FilterFunction,
    FlatMapFunction,
    KeyedProcessFunction,
    KeySelector,
    MapFunction,
    ReduceFunction,
    RuntimeContext,
    TimeDomain,
    TimerService,
)
from pyflink_rs.datastream.stream_execution_environment import StreamExecutionEnvironment
from pyflink_rs.datastream.data_stream import DataStream, KeyedStream

__all__ = [
    "DataStream",
    "FilterFunction",
    "FlatMapFunction",
    "KeySelector",
    "KeyedProcessFunction",
    "KeyedStream",
    "RuntimeContext",
    "TimeDomain",
    "TimerService",
    "MapFunction",
    "ReduceFunction",
    "StreamExecutionEnvironment",
]
