"""PyFlink's common classes: types, rows, durations."""

from pyflink_rs.common.time import Duration, Time
from pyflink_rs.common.typeinfo import Types, TypeInformation
from pyflink_rs.common.types import Row, RowKind

__all__ = ["Duration", "Row", "RowKind", "Time", "TypeInformation", "Types"]
