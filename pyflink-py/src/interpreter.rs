//! Taking the Python interpreter from the engine's worker threads cheaply.
//!
//! Two costs of calling Python from a thread the interpreter did not start dominate a cheap
//! Python function, and both are paid once per batch here instead of once per record:
//!
//! - a thread without a Python thread state gets a new one each time it takes the interpreter
//!   and loses it when it lets go; worker threads keep one for their lifetime instead;
//! - a call into Python from a thread with no Python frame on its stack maps a fresh frame-stack
//!   chunk and unmaps it on return (CPython 3.11 frees an emptied chunk). A batch therefore runs
//!   under one small Python frame (a trampoline), so the functions it calls reuse its chunk.

use std::cell::{Cell, RefCell};
use std::sync::OnceLock;

use pyflink_core::{FlinkError, Result};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyCFunction;

/// This thread's Python thread state, kept while the thread lives.
struct KeptThreadState {
    gil_state: ffi::PyGILState_STATE,
    thread_state: *mut ffi::PyThreadState,
}

impl Drop for KeptThreadState {
    fn drop(&mut self) {
        // The thread is ending: take the interpreter back and release the thread state.
        // SAFETY: `thread_state` was saved by this thread and the interpreter outlives the job's
        // worker threads (the Python call that runs the job waits for them).
        unsafe {
            if ffi::Py_IsInitialized() != 0 {
                ffi::PyEval_RestoreThread(self.thread_state);
                ffi::PyGILState_Release(self.gil_state);
            }
        }
    }
}

thread_local! {
    static KEPT: RefCell<Option<KeptThreadState>> = const { RefCell::new(None) };
}

/// Gives this thread a Python thread state that lasts until the thread ends, unless it has
/// one or holds the interpreter now.
fn keep_thread_state() {
    KEPT.with(|kept| {
        let mut kept = kept.borrow_mut();
        // SAFETY: PyGILState_Check only reads this thread's state; Ensure and SaveThread run
        // only when this thread does not hold the interpreter, and leave it released.
        unsafe {
            if kept.is_none() && ffi::Py_IsInitialized() != 0 && ffi::PyGILState_Check() == 0 {
                let gil_state = ffi::PyGILState_Ensure();
                let thread_state = ffi::PyEval_SaveThread();
                *kept = Some(KeptThreadState { gil_state, thread_state });
            }
        }
    })
}

/// A batch being run by this thread, reachable from the builtin the trampoline calls.
type BatchPointer = *mut (dyn FnMut() -> Result<()> + 'static);

thread_local! {
    static CURRENT_BATCH: Cell<Option<BatchPointer>> = const { Cell::new(None) };
    static BATCH_RESULT: RefCell<Option<Result<()>>> = const { RefCell::new(None) };
}

/// The trampoline (a Python function calling its argument) and the builtin that runs this
/// thread's current batch.
static TRAMPOLINE: OnceLock<(Py<PyAny>, Py<PyAny>)> = OnceLock::new();

fn trampoline(py: Python<'_>) -> PyResult<&'static (Py<PyAny>, Py<PyAny>)> {
    if let Some(pair) = TRAMPOLINE.get() {
        return Ok(pair);
    }
    let module =
        PyModule::from_code(py, c"def trampoline(run):\n    run()\n", c"pyflink_rs_batch.py", c"pyflink_rs_batch")?;
    let function = module.getattr("trampoline")?.unbind();
    let run = PyCFunction::new_closure(py, None, None, |_args, _kwargs| -> PyResult<()> {
        let result = match CURRENT_BATCH.with(Cell::get) {
            // SAFETY: the pointer was set by `with_interpreter` on this thread, which is still
            // inside the call that borrowed the batch.
            Some(batch) => unsafe { (*batch)() },
            None => Err(FlinkError::User("no batch to run on this thread".into())),
        };
        BATCH_RESULT.with(|slot| *slot.borrow_mut() = Some(result));
        Ok(())
    })?;
    Ok(TRAMPOLINE.get_or_init(|| (function, run.into_any().unbind())))
}

thread_local! {
    /// How many [`with_interpreter`] calls this thread is inside: while it is above zero the
    /// thread holds the interpreter, which [`in_batch`] relies on.
    static BATCH_DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// Marks this thread as inside a batch until dropped, and puts back the batch that was
/// current before, also when the batch unwinds.
struct BatchScope {
    previous: Option<BatchPointer>,
}

impl BatchScope {
    fn enter(batch: Option<BatchPointer>) -> Self {
        BATCH_DEPTH.with(|depth| depth.set(depth.get() + 1));
        BatchScope { previous: CURRENT_BATCH.with(|current| current.replace(batch)) }
    }
}

impl Drop for BatchScope {
    fn drop(&mut self) {
        CURRENT_BATCH.with(|current| current.set(self.previous));
        BATCH_DEPTH.with(|depth| depth.set(depth.get() - 1));
    }
}

/// Runs one batch of input with the interpreter held, under one Python frame: the per-record
/// `Python::attach` calls inside only count a nesting level, and the functions called reuse the
/// trampoline's frame stack. Other Python threads still run: the interpreter switches threads
/// while Python code runs.
pub fn with_interpreter(batch: &mut dyn FnMut() -> Result<()>) -> Result<()> {
    keep_thread_state();
    Python::attach(|py| {
        let (function, run) = match trampoline(py) {
            Ok(pair) => pair,
            // Without the trampoline the batch still runs, only slower.
            Err(_) => {
                let _scope = BatchScope::enter(None);
                return batch();
            }
        };
        // SAFETY: the erased lifetime is never used past this call: the scope puts the previous
        // pointer back before `batch`'s borrow ends, however the call ends.
        let pointer: BatchPointer =
            unsafe { std::mem::transmute::<&mut dyn FnMut() -> Result<()>, BatchPointer>(batch) };
        let called = {
            let _scope = BatchScope::enter(Some(pointer));
            function.bind(py).call1((run.bind(py),))
        };
        let result = BATCH_RESULT.with(|slot| slot.borrow_mut().take());
        match (called, result) {
            (_, Some(result)) => result,
            (Err(error), None) => Err(FlinkError::User(format!("cannot run a batch of Python calls: {error}"))),
            (Ok(_), None) => Err(FlinkError::User("a batch of Python calls did not run".into())),
        }
    })
}

/// Runs `f` with the interpreter that the batch being run by [`with_interpreter`] holds on
/// this thread. The per-record calls of operators whose records arrive only inside their
/// `within_batch` use this instead of `Python::attach`, which looks up this thread's
/// interpreter state (a call into CPython and a thread-local lookup there, a noticeable part
/// of a cheap Python call). Whether the thread is inside a batch is checked in every build,
/// with one read of a plain thread-local counter; a call outside a batch (which would be a bug
/// of the engine) takes the interpreter the ordinary way instead of assuming it is held.
#[inline]
pub(crate) fn in_batch<R>(f: impl for<'py> FnOnce(Python<'py>) -> R) -> R {
    if BATCH_DEPTH.with(Cell::get) == 0 {
        debug_assert!(false, "a per-record Python call outside with_interpreter");
        return Python::attach(f);
    }
    // SAFETY: the depth is above zero only inside `with_interpreter` on this thread, which
    // holds the interpreter until the batch ends (the scope lowers it when the batch ends or
    // unwinds).
    f(unsafe { Python::assume_attached() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_scope_is_left_when_the_batch_panics() {
        let unwound = std::panic::catch_unwind(|| {
            let _scope = BatchScope::enter(None);
            assert_eq!(BATCH_DEPTH.with(Cell::get), 1);
            panic!("a failing batch");
        });
        assert!(unwound.is_err());
        assert_eq!(BATCH_DEPTH.with(Cell::get), 0, "the depth was restored while unwinding");
        assert!(CURRENT_BATCH.with(Cell::get).is_none());
    }
}
