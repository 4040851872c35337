"""PyFlink's DataStream API: environments, streams and the function classes."""

from pyflink_rs.datastream.functions import (
    AggregateFunction,
    AllWindowFunction,
    CoFlatMapFunction,
    CoMapFunction,
    CoProcessFunction,
    KeyedCoProcessFunction,
    FilterFunction,
    FlatMapFunction,
    KeyedProcessFunction,
    KeySelector,
    MapFunction,
    ProcessAllWindowFunction,
    ProcessFunction,
    ProcessWindowFunction,
    ReduceFunction,
    RuntimeContext,
    TimeDomain,
    TimerService,
    WindowFunction,
)
from pyflink_rs.datastream.checkpointing_mode import CheckpointingMode
from pyflink_rs.datastream.stream_execution_environment import StreamExecutionEnvironment
from pyflink_rs.datastream.connected_streams import ConnectedStreams
from pyflink_rs.datastream.data_stream import DataStream, DataStreamSink, KeyedStream
from pyflink_rs.datastream.execution_mode import RuntimeExecutionMode
from pyflink_rs.datastream.output_tag import OutputTag
from pyflink_rs.datastream.windowed_stream import AllWindowedStream, WindowedStream

__all__ = [
    "AggregateFunction",
    "AllWindowFunction",
    "CheckpointingMode",
    "CoFlatMapFunction",
    "CoMapFunction",
    "CoProcessFunction",
    "ConnectedStreams",
    "KeyedCoProcessFunction",
    "AllWindowedStream",
    "DataStream",
    "DataStreamSink",
    "FilterFunction",
    "FlatMapFunction",
    "KeySelector",
    "KeyedProcessFunction",
    "KeyedStream",
    "RuntimeContext",
    "TimeDomain",
    "TimerService",
    "MapFunction",
    "OutputTag",
    "ProcessAllWindowFunction",
    "ProcessFunction",
    "ProcessWindowFunction",
    "ReduceFunction",
    "RuntimeExecutionMode",
    "StreamExecutionEnvironment",
    "WindowFunction",
    "WindowedStream",
]
