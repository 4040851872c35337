"""What the engine calls in Python: every class and function of this package that the Rust side
(``pyflink-py/src``) uses, in one place.

The engine runs user functions written against PyFlink's API, so it hands them PyFlink's
objects: rows, windows, output tags, and the contexts a ``ProcessFunction``, a ``Trigger``, a
``WindowAssigner`` or a ``BroadcastProcessFunction`` receives. Those classes are written in
Python (they subclass PyFlink's abstract classes) around native objects the engine passes in.
The engine finds them here and nowhere else: ``bridge.rs`` names each entry below once, so a
name here is part of the boundary between the two halves, and renaming one is a change to both.

Process mode's worker processes are started with ``worker_executable``, ``working_directory``
and ``worker_environment`` (the job's Python dependencies), and answer in ``pickle_bundle``'s
format.

Programs do not need this module; its names are PyFlink's or the engine's, not new API.
"""

from pyflink_rs.common.dependencies import worker_environment, worker_executable, working_directory
from pyflink_rs.common.types import Row, RowKind
from pyflink_rs.datastream import _stored_state
from pyflink_rs.datastream import functions as _functions
from pyflink_rs.datastream import window as _window
from pyflink_rs.datastream.functions import RuntimeContext
from pyflink_rs.datastream.output_tag import OutputTag
from pyflink_rs.datastream.window import CountWindow, GlobalWindow, TimeWindow
from pyflink_rs.worker import pickle_bundle

__all__ = [
    "AssignerContext",
    "BroadcastContext",
    "CountWindow",
    "GlobalWindow",
    "KeyedContext",
    "MergeGroups",
    "OutputTag",
    "RowKind",
    "RuntimeContext",
    "TimeWindow",
    "TriggerContext",
    "build_row",
    "function_context",
    "initialize_operator_state",
    "row_kind_short",
    "pickle_bundle",
    "snapshot_operator_state",
    "worker_environment",
    "worker_executable",
    "working_directory",
]

# The context of a (keyed) process function, around the engine's native keyed context.
KeyedContext = _functions._KeyedContext
# The context of a broadcast process function, around the native one and the broadcast states.
BroadcastContext = _functions._BroadcastContext
# The context of a Python trigger, around the native trigger context.
TriggerContext = _stored_state._TriggerContext
# The context of a Python window assigner (the current processing time).
AssignerContext = _window._AssignerContext
# The callback through which a merging window assigner reports its merges.
MergeGroups = _window._MergeGroups


def build_row(values, names):
    """A ``Row`` of the tuple ``values`` named by the tuple ``names`` (empty: positional), of
    kind INSERT."""
    return Row._of(values, names)


def row_kind_short(row):
    """How PyFlink prints the kind of ``row``: ``+I``, ``-U``, ``+U`` or ``-D`` (``+I`` for a
    value that is not a ``Row``, such as a tuple given where a row is declared)."""
    return row.get_row_kind().short_string() if isinstance(row, Row) else "+I"


def initialize_operator_state(function, native_store):
    """Hands the operator state store to ``function`` if it is a ``CheckpointedFunction``."""
    _functions._initialize_operator_state(function, native_store)


def snapshot_operator_state(function, checkpoint_id):
    """Calls ``snapshot_state`` of ``function`` if it is a ``CheckpointedFunction``."""
    _functions._snapshot_operator_state(function, checkpoint_id)


def function_context(metric_group, job_parameters, task_info):
    """The ``FunctionContext`` that ``open`` of a table function receives (imported here on
    first use, so that DataStream jobs do not load the Table API's modules)."""
    from pyflink_rs.table.udf import FunctionContext

    return FunctionContext(metric_group, job_parameters, task_info)
