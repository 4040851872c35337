//! The engine's side of a process-mode worker (`python -m pyflink_rs.worker`, see
//! `python/pyflink_rs/worker.py`): a child process running one operator instance's Python
//! function, fed bundles of records over a socket passed as its standard input. Messages are
//! pickled tuples in frames of a 4-byte little-endian length and the bytes.
//!
//! The interpreter is released while a bundle is with the worker, so that the engine's other
//! Python operators (and their workers) run meanwhile. An operator may keep one bundle in
//! flight: it pickles the next bundle while the worker computes, collects the answer, sends
//! the next bundle, and unpickles the answer while the worker computes again. The engine never
//! writes while an answer is unread, so neither side can block the other on a full socket.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::process::{Child, Command, Stdio};

use pyflink_core::metrics::MetricGroup;
use pyflink_core::{FlinkError, Result, TaskInfo};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

use crate::bridge;
use crate::function::python_error;
use crate::metrics::WorkerMetrics;

/// A running worker process.
pub struct PythonWorker {
    socket: UnixStream,
    child: Child,
    /// The operator's name, for errors.
    name: String,
    /// Whether the answer to `open` is still to be read (it is read with the first bundle, so
    /// that workers start in parallel).
    open_pending: bool,
    /// The instance's metric group, and what the worker reported to it.
    metric_group: MetricGroup,
    metrics: WorkerMetrics,
    /// Whether a bundle was sent whose answer is still to be read.
    in_flight: bool,
}

/// How a worker process starts, as the program's Python dependencies say
/// (`pyflink_rs.common.dependencies`): its interpreter (`python.executable`), its working
/// directory (where `python.archives` are unpacked) and extra environment variables.
struct WorkerLaunch {
    executable: String,
    working_directory: Option<String>,
    environment: std::collections::HashMap<String, String>,
}

impl WorkerLaunch {
    fn of(py: Python<'_>) -> PyResult<Self> {
        Ok(WorkerLaunch {
            executable: bridge::worker_executable(py)?.call0()?.extract()?,
            working_directory: bridge::working_directory(py)?.call0()?.extract()?,
            environment: bridge::worker_environment(py)?.call0()?.extract()?,
        })
    }
}

/// Where an operator instance runs, as Python's function contexts take it: `task_name`,
/// `index_of_this_subtask`, `number_of_parallel_subtasks`, `max_parallelism` and the job's
/// global `job_parameters`.
pub(crate) fn task_dict<'py>(py: Python<'py>, task: &TaskInfo) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("task_name", task.get_task_name())?;
    dict.set_item("index_of_this_subtask", task.get_index_of_this_subtask())?;
    dict.set_item("number_of_parallel_subtasks", task.get_number_of_parallel_subtasks())?;
    dict.set_item("max_parallelism", task.get_max_number_of_parallel_subtasks())?;
    dict.set_item("job_parameters", task.get_job_parameters().as_ref().clone())?;
    Ok(dict)
}

/// A bundle pickled for a worker, ready to send.
pub struct BundleFrame(Vec<u8>);

fn io_error(name: &str, what: &str, error: std::io::Error) -> FlinkError {
    FlinkError::User(format!("the Python worker process of '{name}' {what}: {error}"))
}

impl PythonWorker {
    /// Starts a worker for the cloudpickled `function`, run as `kind` (`chain`, `reduce`,
    /// `table`, ...) by the operator instance `runtime`.
    pub fn start(py: Python<'_>, function: &[u8], kind: &str, runtime: &TaskInfo) -> Result<Self> {
        let name = runtime.get_task_name().to_string();
        let (launch, sys_path) = (|| -> PyResult<(WorkerLaunch, Bound<'_, PyAny>)> {
            Ok((WorkerLaunch::of(py)?, py.import("sys")?.getattr("path")?))
        })()
        .map_err(|e| python_error(py, e))?;
        let (socket, theirs) = UnixStream::pair().map_err(|e| io_error(&name, "cannot be connected", e))?;
        let executable = &launch.executable;
        let mut command = Command::new(executable);
        command.args(["-m", "pyflink_rs.worker"]).stdin(Stdio::from(OwnedFd::from(theirs))).envs(&launch.environment);
        if let Some(directory) = &launch.working_directory {
            command.current_dir(directory);
        }
        let child = command.spawn().map_err(|e| io_error(&name, &format!("cannot be started with {executable}"), e))?;
        let metric_group = runtime.get_metric_group().clone();
        let metrics = WorkerMetrics::default();
        let mut worker =
            PythonWorker { socket, child, name, open_pending: true, metric_group, metrics, in_flight: false };
        let open = (|| -> PyResult<Vec<u8>> {
            let info = task_dict(py, runtime)?;
            // Functions log at the level the program configured.
            let level = py.import("logging")?.call_method0("getLogger")?.call_method0("getEffectiveLevel")?;
            info.set_item("log_level", level)?;
            let message = ("open", PyBytes::new(py, function), kind, sys_path, info).into_pyobject(py)?;
            pickle(py, message.as_any())
        })()
        .map_err(|e| python_error(py, e))?;
        worker.write_frame(&open)?;
        Ok(worker)
    }

    /// Sends `("bundle", payload)` and returns what the worker answered.
    pub fn bundle<'py>(&mut self, py: Python<'py>, payload: Bound<'py, PyAny>) -> Result<Bound<'py, PyAny>> {
        let frame = self.frame(py, payload)?;
        self.send(py, frame)?;
        self.receive(py)
    }

    /// The message `("bundle", payload)`, pickled.
    pub fn frame<'py>(&self, py: Python<'py>, payload: Bound<'py, PyAny>) -> Result<BundleFrame> {
        PyTuple::new(py, [pyo3::types::PyString::new(py, "bundle").into_any(), payload])
            .and_then(|message| pickle(py, message.as_any()))
            .map(BundleFrame)
            .map_err(|e| python_error(py, e))
    }

    /// Sends a bundle; its answer is read by [`receive`](Self::receive) before the next send.
    pub fn send(&mut self, py: Python<'_>, frame: BundleFrame) -> Result<()> {
        assert!(!self.in_flight, "the answer to the previous bundle is read first");
        self.opened(py)?;
        py.detach(|| self.write_frame(&frame.0))?;
        self.in_flight = true;
        Ok(())
    }

    /// The answer to the bundle in flight, waiting for it without the interpreter.
    pub fn receive<'py>(&mut self, py: Python<'py>) -> Result<Bound<'py, PyAny>> {
        let bytes = self.receive_frame(py)?;
        self.answer(py, &bytes)
    }

    /// The pickled answer to the bundle in flight, to unpickle with [`answer`](Self::answer).
    pub fn receive_frame(&mut self, py: Python<'_>) -> Result<Vec<u8>> {
        assert!(self.in_flight, "a bundle was sent");
        let bytes = py.detach(|| self.read_frame())?;
        self.in_flight = false;
        Ok(bytes)
    }

    /// Waits for the worker's answer to `open` (what the function declared, for a keyed
    /// process function).
    pub fn opened<'py>(&mut self, py: Python<'py>) -> Result<Bound<'py, PyAny>> {
        if !self.open_pending {
            return Ok(py.None().into_bound(py));
        }
        let answer = py.detach(|| self.read_frame())?;
        self.open_pending = false;
        self.answer(py, &answer)
    }

    /// Ends the worker: it answers `close`, then exits.
    pub fn close(mut self, py: Python<'_>) -> Result<()> {
        let message =
            PyTuple::new(py, ["close"]).and_then(|m| pickle(py, m.as_any())).map_err(|e| python_error(py, e))?;
        self.send(py, BundleFrame(message))?;
        self.receive(py)?;
        let name = self.name.clone();
        py.detach(|| self.child.wait()).map_err(|e| io_error(&name, "did not exit", e))?;
        Ok(())
    }

    /// The result of an answer, or the error the worker reported; the metric updates that
    /// come with it are applied.
    pub fn answer<'py>(&mut self, py: Python<'py>, bytes: &[u8]) -> Result<Bound<'py, PyAny>> {
        let answer = unpickle_answer(py, bytes).map_err(|e| python_error(py, e))?;
        let (status, value, updates): (String, Bound<'py, PyAny>, Bound<'py, PyList>) =
            answer.extract().map_err(|e| python_error(py, e))?;
        self.metrics.apply(&self.metric_group, &updates).map_err(|e| python_error(py, e))?;
        match status.as_str() {
            "ok" => Ok(value),
            _ => Err(FlinkError::User(format!(
                "Python function raised an exception (in the worker process of '{}'):\n{}",
                self.name,
                value.extract::<String>().unwrap_or_default()
            ))),
        }
    }

    fn write_frame(&mut self, payload: &[u8]) -> Result<()> {
        let length = u32::try_from(payload.len())
            .map_err(|_| FlinkError::User(format!("a bundle of '{}' exceeds 4 GiB when pickled", self.name)))?;
        let name = self.name.clone();
        self.socket
            .write_all(&length.to_le_bytes())
            .and_then(|()| self.socket.write_all(payload))
            .map_err(|e| self.gone(&name, e))
    }

    fn read_frame(&mut self) -> Result<Vec<u8>> {
        let name = self.name.clone();
        let mut length = [0u8; 4];
        self.socket.read_exact(&mut length).map_err(|e| self.gone(&name, e))?;
        let mut payload = vec![0u8; u32::from_le_bytes(length) as usize];
        self.socket.read_exact(&mut payload).map_err(|e| self.gone(&name, e))?;
        Ok(payload)
    }

    /// The error of a broken connection: the worker's exit status when it exited.
    fn gone(&mut self, name: &str, error: std::io::Error) -> FlinkError {
        match self.child.try_wait() {
            Ok(Some(status)) => FlinkError::User(format!("the Python worker process of '{name}' exited ({status})")),
            _ => io_error(name, "stopped answering", error),
        }
    }
}

impl Drop for PythonWorker {
    fn drop(&mut self) {
        // A worker not closed (the job failed) is stopped; closing the socket ends a healthy one.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `pickle.loads` and the `gc` functions, looked up once per interpreter.
static UNPICKLING: PyOnceLock<[Py<PyAny>; 4]> = PyOnceLock::new();

/// An answer unpickled with the cyclic garbage collector paused: the many tuples of a bundle
/// would otherwise set off collections that find nothing to free (the worker pauses it for
/// the same reason).
fn unpickle_answer<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    let [loads, is_enabled, disable, enable] = UNPICKLING.get_or_try_init(py, || -> PyResult<[Py<PyAny>; 4]> {
        let gc = py.import("gc")?;
        Ok([
            py.import("pickle")?.getattr("loads")?.unbind(),
            gc.getattr("isenabled")?.unbind(),
            gc.getattr("disable")?.unbind(),
            gc.getattr("enable")?.unbind(),
        ])
    })?;
    // Only a collector this call paused is resumed: the program may have turned it off.
    let paused = is_enabled.bind(py).call0()?.is_truthy()?;
    if paused {
        disable.bind(py).call0()?;
    }
    let answer = loads.bind(py).call1((PyBytes::new(py, bytes),));
    if paused {
        enable.bind(py).call0()?;
    }
    answer
}

/// `value` pickled as the worker pickles its answers.
fn pickle(py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    let bytes = bridge::pickle_bundle(py)?.call1((value,))?;
    Ok(bytes.cast::<PyBytes>()?.as_bytes().to_vec())
}
