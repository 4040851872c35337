//! Function instances: the per-operator-instance copies of user functions.
//!
//! Flink gives every parallel instance of an operator its own object of each user function it
//! calls, opens it (`open(FunctionContext)`, which reaches the instance's metric group) before
//! its first row and closes it after its last. DataFusion shares one function object among
//! every query, operator and thread. The table operators bridge the two: each of their
//! parallel instances keeps a [`FunctionInstances`], current in its thread while the operator
//! works ([`FunctionInstances::run`]), and a function asks [`with_instance`] for its object
//! there, which is made from the instance's [`TaskInfo`] the first time. When the
//! operator closes, the objects close with it.
//!
//! ```
//! use pyflink_table::function_instances::{with_instance, FunctionId, FunctionInstance};
//!
//! /// A function's object: how many rows it saw in this operator instance.
//! struct Seen(usize);
//!
//! impl FunctionInstance for Seen {
//!     fn close(&mut self) -> pyflink_table::Result<()> {
//!         Ok(())
//!     }
//! }
//!
//! let id = FunctionId::new();
//! // Outside any operator (as when the planner folds a call of constants), each call gets an
//! // object of its own, closed after the call.
//! let seen = with_instance(id, |_task| Ok::<_, pyflink_table::TableError>(Seen(0)), |seen: &mut Seen| {
//!     seen.0 += 3;
//!     Ok(seen.0)
//! });
//! assert_eq!(seen, Ok(3));
//! ```

use std::any::Any;
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use pyflink_core::TaskInfo;

use crate::error::{Result, TableError};

/// The object of a user function in one operator instance.
pub trait FunctionInstance: Send + Sync + 'static {
    /// Ends the object, after the operator's last row (the function's `close()`).
    fn close(&mut self) -> Result<()>;
}

/// A function's identity among the objects of an operator instance: one per function made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FunctionId(u64);

impl FunctionId {
    /// A new identity, unlike any other.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        FunctionId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// A function's object, with what its type is for [`with_instance`] to find it again.
trait Instance: Send + Sync {
    fn close(&mut self) -> Result<()>;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: FunctionInstance> Instance for T {
    fn close(&mut self) -> Result<()> {
        FunctionInstance::close(self)
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// The function objects of one operator instance, and where that instance runs.
pub struct FunctionInstances {
    task: TaskInfo,
    objects: Vec<(FunctionId, Box<dyn Instance>)>,
}

thread_local! {
    /// The instances of the operator working in this thread, while it does.
    static CURRENT: RefCell<Option<FunctionInstances>> = const { RefCell::new(None) };
}

impl FunctionInstances {
    /// No objects yet, for the operator instance `task`.
    pub fn new(task: TaskInfo) -> Self {
        FunctionInstances { task, objects: Vec::new() }
    }

    /// Runs `work` with the instances in `slot` current in this thread; they are back in
    /// `slot` afterwards (also when `work` panics). An operator called while another works
    /// (a chained one) has its own current meanwhile.
    pub fn run<R>(slot: &mut Option<FunctionInstances>, work: impl FnOnce() -> R) -> R {
        /// Puts the instances back in their slot, and the previous ones back as current.
        struct Restore<'a> {
            slot: &'a mut Option<FunctionInstances>,
            previous: Option<Option<FunctionInstances>>,
        }
        impl Drop for Restore<'_> {
            fn drop(&mut self) {
                let previous = self.previous.take().flatten();
                *self.slot = CURRENT.with(|current| current.replace(previous));
            }
        }
        let previous = CURRENT.with(|current| current.replace(slot.take()));
        let _restore = Restore { slot, previous: Some(previous) };
        work()
    }

    /// Closes every object, in the order they were made; the first failure is returned after
    /// all have been closed.
    pub fn close(&mut self) -> Result<()> {
        let mut first_failure = Ok(());
        for (_, mut object) in self.objects.drain(..) {
            let closed = object.close();
            if first_failure.is_ok() {
                first_failure = closed;
            }
        }
        first_failure
    }
}

/// Runs `call` on the object of the function `id` in the operator instance working in this
/// thread, made by `open` (given where the instance runs) on its first call there.
/// Outside an operator (the planner folding a call of constants), `open` is given no context
/// and the object is closed after the call.
///
/// An object is looked for by `id` and its type `T`; the same id with another type makes
/// another object.
pub fn with_instance<T, R, E>(
    id: FunctionId,
    open: impl FnOnce(Option<&TaskInfo>) -> std::result::Result<T, E>,
    call: impl FnOnce(&mut T) -> std::result::Result<R, E>,
) -> std::result::Result<R, E>
where
    T: FunctionInstance,
    E: From<TableError>,
{
    // The instances leave the thread's slot while the call runs, so that an operator the
    // call may reach (none does today) finds its own; they go back however the call ends.
    let Some(instances) = CURRENT.with(|current| current.borrow_mut().take()) else {
        let mut object = open(None)?;
        let result = call(&mut object);
        let closed = object.close();
        let result = result?;
        closed?;
        return Ok(result);
    };
    struct PutBack(Option<FunctionInstances>);
    impl Drop for PutBack {
        fn drop(&mut self) {
            let instances = self.0.take();
            CURRENT.with(|current| *current.borrow_mut() = instances);
        }
    }
    let mut put_back = PutBack(Some(instances));
    let instances = put_back.0.as_mut().expect("the instances were just put here");
    let found = instances.objects.iter_mut().position(|(key, object)| *key == id && object.as_any_mut().is::<T>());
    let position = match found {
        Some(position) => position,
        None => {
            let object = open(Some(&instances.task))?;
            instances.objects.push((id, Box::new(object)));
            instances.objects.len() - 1
        }
    };
    let object = instances.objects[position].1.as_any_mut().downcast_mut::<T>().expect("the object's type was checked");
    call(object)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use pyflink_core::metrics::MetricRegistry;

    use super::*;

    fn calc(index: usize, parallelism: usize) -> FunctionInstances {
        let metrics = MetricRegistry::default().group(vec!["Calc".into(), index.to_string()]);
        FunctionInstances::new(TaskInfo::new("Calc", index, parallelism, 128, metrics))
    }

    /// An object that counts its calls and records its life cycle in a shared log.
    struct Logged {
        name: &'static str,
        calls: usize,
        log: Arc<Mutex<Vec<String>>>,
    }

    impl FunctionInstance for Logged {
        fn close(&mut self) -> Result<()> {
            self.log.lock().unwrap().push(format!("close {} after {}", self.name, self.calls));
            Ok(())
        }
    }

    fn call(id: FunctionId, name: &'static str, log: &Arc<Mutex<Vec<String>>>) -> Result<usize> {
        with_instance(
            id,
            |task| {
                let task = task.map_or("no operator".to_string(), |task| task.get_task_name().to_string());
                log.lock().unwrap().push(format!("open {name} in {task}"));
                Ok(Logged { name, calls: 0, log: Arc::clone(log) })
            },
            |object: &mut Logged| {
                object.calls += 1;
                Ok(object.calls)
            },
        )
    }

    #[test]
    fn each_operator_instance_has_its_own_objects_opened_once_and_closed_with_it() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let (f, g) = (FunctionId::new(), FunctionId::new());
        let mut first = Some(calc(0, 2));
        let mut second = Some(calc(1, 2));
        assert_eq!(FunctionInstances::run(&mut first, || call(f, "f", &log)), Ok(1));
        assert_eq!(FunctionInstances::run(&mut first, || call(f, "f", &log)), Ok(2));
        assert_eq!(FunctionInstances::run(&mut second, || call(f, "f", &log)), Ok(1));
        // An operator working inside another's call (a chained one) sees its own objects.
        let nested = FunctionInstances::run(&mut first, || {
            let inner = FunctionInstances::run(&mut second, || call(g, "g", &log));
            (inner, call(f, "f", &log))
        });
        assert_eq!(nested, (Ok(1), Ok(3)));
        first.as_mut().unwrap().close().unwrap();
        second.as_mut().unwrap().close().unwrap();
        assert_eq!(
            *log.lock().unwrap(),
            [
                "open f in Calc",
                "open f in Calc",
                "open g in Calc",
                "close f after 3",
                "close f after 1",
                "close g after 1",
            ]
        );
    }

    #[test]
    fn outside_an_operator_a_call_gets_an_object_of_its_own() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let f = FunctionId::new();
        assert_eq!(call(f, "f", &log), Ok(1));
        assert_eq!(call(f, "f", &log), Ok(1));
        assert_eq!(log.lock().unwrap().len(), 4, "opened and closed twice: {:?}", log.lock().unwrap());
    }

    #[test]
    fn a_failed_open_leaves_the_instances_in_place() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let f = FunctionId::new();
        let mut instances = Some(calc(0, 1));
        let failed = FunctionInstances::run(&mut instances, || {
            with_instance(
                f,
                |_| Err::<Logged, _>(TableError::Execution("no".into())),
                |_: &mut Logged| Ok::<_, TableError>(()),
            )
        });
        assert!(failed.is_err());
        assert_eq!(FunctionInstances::run(&mut instances, || call(f, "f", &log)), Ok(1));
        assert!(instances.is_some());
    }
}
