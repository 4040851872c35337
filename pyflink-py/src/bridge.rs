//! The engine's one way into the package's Python: `pyflink_rs.bridge`, whose classes and
//! functions (PyFlink's rows, windows and output tags, and the contexts that wrap the engine's
//! native ones for user functions) are named here, each imported once per interpreter.
//!
//! No other module of this crate imports the package's Python modules or reads their names, so
//! the boundary between the two halves is this file and `bridge.py`, which list the same names.
//! A keyed process function's context, for example, is `bridge::keyed_context(py)?.call1((native,))`.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

/// The module of the names below.
const MODULE: &str = "pyflink_rs.bridge";

/// Defines a function that returns the bridge's attribute `$name`, imported on first use.
macro_rules! bridge_names {
    ($($(#[$doc:meta])* $function:ident => $name:literal;)*) => {
        $(
            $(#[$doc])*
            pub(crate) fn $function(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
                static NAME: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
                let found = NAME.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
                    Ok(py.import(MODULE)?.getattr($name)?.unbind())
                })?;
                Ok(found.bind(py))
            }
        )*
    };
}

bridge_names! {
    /// `build_row(values, names)`: a PyFlink `Row` of a tuple of values and one of names.
    build_row => "build_row";
    /// `row_kind_short(row)`: how PyFlink prints a row's kind (`+I`, `-U`, `+U`, `-D`).
    row_kind_short => "row_kind_short";
    /// PyFlink's `RowKind`.
    row_kind => "RowKind";
    /// PyFlink's `OutputTag`.
    output_tag => "OutputTag";
    /// PyFlink's `RuntimeContext`, around a native runtime context.
    runtime_context => "RuntimeContext";
    /// The context of a (keyed) process function, around a native keyed context.
    keyed_context => "KeyedContext";
    /// The context of a broadcast process function, around a native context and its states.
    broadcast_context => "BroadcastContext";
    /// The context of a Python trigger, around a native trigger context.
    trigger_context => "TriggerContext";
    /// The context of a Python window assigner, of the current processing time.
    assigner_context => "AssignerContext";
    /// The callback a merging window assigner reports its merges to (its `groups`).
    merge_groups => "MergeGroups";
    /// PyFlink's `TimeWindow(start, end)`.
    time_window => "TimeWindow";
    /// PyFlink's `CountWindow(id)`.
    count_window => "CountWindow";
    /// PyFlink's `GlobalWindow`.
    global_window => "GlobalWindow";
    /// `initialize_operator_state(function, store)`: operator state for a `CheckpointedFunction`.
    initialize_operator_state => "initialize_operator_state";
    /// `snapshot_operator_state(function, checkpoint_id)`: a `CheckpointedFunction`'s snapshot.
    snapshot_operator_state => "snapshot_operator_state";
    /// `function_context(metric_group, job_parameters, task)`: what a table function's `open`
    /// receives.
    function_context => "function_context";
    /// `pickle_bundle(value)`: bytes of `value` as process mode's workers pickle their answers.
    pickle_bundle => "pickle_bundle";
    /// `worker_executable()`: the Python that runs process mode's workers (`python.executable`).
    worker_executable => "worker_executable";
    /// `working_directory()`: where process mode's workers start (the job's archives), if set.
    working_directory => "working_directory";
    /// `worker_environment()`: the environment variables of process mode's workers.
    worker_environment => "worker_environment";
}
