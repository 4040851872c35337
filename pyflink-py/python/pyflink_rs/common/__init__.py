"""PyFlink's common classes: types, rows, durations."""

from pyflink_rs.common.completable_future import CompletableFuture
from pyflink_rs.common.config_options import ConfigOption, ConfigOptions
from pyflink_rs.common.configuration import Configuration
from pyflink_rs.common.execution_config import ExecutionConfig
from pyflink_rs.common.input_dependency_constraint import InputDependencyConstraint
from pyflink_rs.common.job_client import JobClient
from pyflink_rs.common.job_execution_result import JobExecutionResult
from pyflink_rs.common.job_id import JobID
from pyflink_rs.common.job_status import JobStatus
from pyflink_rs.common.restart_strategy import RestartStrategies, RestartStrategyConfiguration
from pyflink_rs.common.serialization import (
    ByteArraySchema,
    DeserializationSchema,
    Encoder,
    SerializationSchema,
    SimpleStringSchema,
)
from pyflink_rs.common.serializer import TypeSerializer
from pyflink_rs.common.time import Duration, Instant, Time
from pyflink_rs.common.typeinfo import Types, TypeInformation
from pyflink_rs.common.types import Row, RowKind
from pyflink_rs.common.watermark_strategy import TimestampAssigner, WatermarkStrategy

__all__ = [
    "ByteArraySchema",
    "CompletableFuture",
    "ConfigOption",
    "ConfigOptions",
    "Configuration",
    "DeserializationSchema",
    "Duration",
    "Encoder",
    "ExecutionConfig",
    "InputDependencyConstraint",
    "Instant",
    "JobClient",
    "JobExecutionResult",
    "JobID",
    "JobStatus",
    "RestartStrategies",
    "RestartStrategyConfiguration",
    "Row",
    "RowKind",
    "SerializationSchema",
    "SimpleStringSchema",
    "Time",
    "TimestampAssigner",
    "TypeSerializer",
    "TypeInformation",
    "Types",
    "WatermarkStrategy",
]
