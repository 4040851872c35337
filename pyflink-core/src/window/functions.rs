//! The functions that evaluate windows: [`AggregateFunction`] (incremental), and
//! [`ProcessWindowFunction`] / [`ProcessAllWindowFunction`] (all elements, or the result of an
//! incremental aggregation, with the window's context).

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::api::functions::OutputTag;
use pyflink_state::{
    DeferredKeyedSnapshot, KeyedStateBackend, KeyedStateSnapshot, StateSection, ValueState, ValueStateDescriptor,
};

use crate::runtime::operator::RuntimeContext;
use crate::runtime::output::Output;
use crate::time::current_processing_time;
use crate::window::windows::Window;
use crate::{Data, Key, Result};

/// Aggregates a window's elements incrementally into an accumulator, as Flink's
/// `AggregateFunction`; the same trait serves `AggregatingState`.
///
/// ```
/// use pyflink_core::window::AggregateFunction;
/// /// The average of the second field.
/// #[derive(Clone)]
/// struct Average;
/// impl AggregateFunction<(String, i64)> for Average {
///     type Accumulator = (i64, i64);
///     type Output = f64;
///     fn create_accumulator(&self) -> (i64, i64) { (0, 0) }
///     fn add(&self, value: (String, i64), (sum, count): (i64, i64)) -> (i64, i64) { (sum + value.1, count + 1) }
///     fn get_result(&self, (sum, count): &(i64, i64)) -> f64 { *sum as f64 / *count as f64 }
///     fn merge(&self, a: (i64, i64), b: (i64, i64)) -> (i64, i64) { (a.0 + b.0, a.1 + b.1) }
/// }
/// ```
pub use pyflink_state::AggregateFunction;

/// An aggregate function whose steps can fail, as a function calling user code in another
/// language does; every [`AggregateFunction`] is one that never fails. A failing step fails
/// the task, which restarts from its last checkpoint.
///
/// ```
/// use pyflink_core::window::TryAggregateFunction;
/// use pyflink_core::{FlinkError, Result};
/// /// The sum of numbers parsed from text.
/// #[derive(Clone)]
/// struct ParsedSum;
/// impl TryAggregateFunction<String> for ParsedSum {
///     type Accumulator = i64;
///     type Output = i64;
///     fn try_create_accumulator(&self) -> Result<i64> { Ok(0) }
///     fn try_add(&self, value: String, sum: i64) -> Result<i64> {
///         let n: i64 = value.parse().map_err(|_| FlinkError::user(format!("not a number: {value}")))?;
///         Ok(sum + n)
///     }
///     fn try_get_result(&self, sum: &i64) -> Result<i64> { Ok(*sum) }
///     fn try_merge(&self, a: i64, b: i64) -> Result<i64> { Ok(a + b) }
/// }
/// assert!(ParsedSum.try_add("x".into(), 0).is_err());
/// ```
pub trait TryAggregateFunction<IN>: Clone + Send + Sync + 'static {
    /// The accumulator type; it is part of checkpoints, so it is serializable.
    type Accumulator: Clone + Send + Sync + Serialize + DeserializeOwned + 'static;
    /// The result type.
    type Output: Clone + Send + Sync + Serialize + DeserializeOwned + 'static;

    /// A new, empty accumulator.
    fn try_create_accumulator(&self) -> Result<Self::Accumulator>;
    /// Adds `value` to `accumulator` and returns the updated accumulator.
    fn try_add(&self, value: IN, accumulator: Self::Accumulator) -> Result<Self::Accumulator>;
    /// The result of an accumulator.
    fn try_get_result(&self, accumulator: &Self::Accumulator) -> Result<Self::Output>;
    /// Combines two accumulators (when session windows merge).
    fn try_merge(&self, a: Self::Accumulator, b: Self::Accumulator) -> Result<Self::Accumulator>;
}

impl<IN, A: AggregateFunction<IN>> TryAggregateFunction<IN> for A {
    type Accumulator = A::Accumulator;
    type Output = A::Output;

    #[inline]
    fn try_create_accumulator(&self) -> Result<Self::Accumulator> {
        Ok(self.create_accumulator())
    }
    #[inline]
    fn try_add(&self, value: IN, accumulator: Self::Accumulator) -> Result<Self::Accumulator> {
        Ok(self.add(value, accumulator))
    }
    #[inline]
    fn try_get_result(&self, accumulator: &Self::Accumulator) -> Result<Self::Output> {
        Ok(self.get_result(accumulator))
    }
    #[inline]
    fn try_merge(&self, a: Self::Accumulator, b: Self::Accumulator) -> Result<Self::Accumulator> {
        Ok(self.merge(a, b))
    }
}

/// What a window function's `open` sees: the runtime context and the window operator's keyed
/// state. Handles from [`WindowRuntimeContext::get_state`] hold one value per key across all
/// windows (Flink's global state); handles from [`WindowRuntimeContext::get_window_state`] hold
/// one value per key and window (Flink's window state).
pub struct WindowRuntimeContext<'a, K: Key, W: Window> {
    pub(crate) runtime: &'a RuntimeContext,
    pub(crate) states: &'a mut WindowStates<K, W>,
}

impl<K: Key, W: Window> WindowRuntimeContext<'_, K, W> {
    /// The operator's runtime context.
    pub fn runtime(&self) -> &RuntimeContext {
        self.runtime
    }

    /// A value per key, shared by all windows of the key.
    pub fn get_state<V: Data>(&mut self, descriptor: &ValueStateDescriptor<V>) -> Result<ValueState<V>> {
        Ok(self.states.global.get_value_state(descriptor)?)
    }

    /// A value per key and window; clear it in `clear()` when the window is removed.
    pub fn get_window_state<V: Data>(&mut self, descriptor: &ValueStateDescriptor<V>) -> Result<ValueState<V>> {
        Ok(self.states.per_window.get_value_state(descriptor)?)
    }
}

/// The prefix of the snapshot sections of per-window states.
const PER_WINDOW_PREFIX: &str = "_window/";

/// Splits a snapshot into its per-window sections (prefix removed) and the others.
fn split_window_sections(snapshot: &KeyedStateSnapshot) -> (KeyedStateSnapshot, KeyedStateSnapshot) {
    let mut windowed = KeyedStateSnapshot { sections: Vec::new(), native: Vec::new(), ..snapshot.clone() };
    let mut plain = KeyedStateSnapshot { sections: Vec::new(), native: Vec::new(), ..snapshot.clone() };
    for section in &snapshot.sections {
        match section.name.strip_prefix(PER_WINDOW_PREFIX) {
            Some(name) => windowed.sections.push(StateSection { name: name.to_string(), ..section.clone() }),
            None => plain.sections.push(section.clone()),
        }
    }
    for part in &snapshot.native {
        match part.prefix.as_str() {
            PER_WINDOW_PREFIX => {
                let mut part = part.clone();
                part.prefix.clear();
                windowed.native.push(part);
            }
            _ => plain.native.push(part.clone()),
        }
    }
    (windowed, plain)
}

/// The keyed state of a window operator instance: per key, and per key and window.
pub(crate) struct WindowStates<K: Key, W: Window> {
    global: KeyedStateBackend<K>,
    per_window: KeyedStateBackend<(K, W)>,
}

impl<K: Key, W: Window> WindowStates<K, W> {
    /// The backends of an instance, with the state of `restored`.
    pub(crate) fn new(context: &RuntimeContext, restored: &[KeyedStateSnapshot]) -> Result<Self> {
        // Per-window entries are keyed by (key, window) in the key group of the key: the window
        // is the entry's namespace, and the entry moves with its key when the job is rescaled.
        let mut global = context.create_keyed_backend::<K>("")?;
        let mut per_window = context.create_keyed_backend::<(K, W)>("-windows")?;
        let (windowed, plain): (Vec<KeyedStateSnapshot>, Vec<KeyedStateSnapshot>) =
            restored.iter().map(split_window_sections).unzip();
        global.restore(&plain)?;
        per_window.restore(&windowed)?;
        Ok(WindowStates { global, per_window })
    }

    /// The snapshot of both backends, their heap tables frozen to encode later; per-window
    /// states are named with a prefix.
    pub(crate) fn snapshot(&self) -> Result<DeferredKeyedSnapshot> {
        let mut snapshot = self.global.snapshot_deferred()?;
        let mut per_window = self.per_window.snapshot_deferred()?;
        per_window.prefix_names(PER_WINDOW_PREFIX);
        snapshot.append(per_window);
        Ok(snapshot)
    }

    /// Runs `f` with `key` and `window` current in both backends.
    pub(crate) fn scoped<R>(&self, key: &K, window: &W, f: impl FnOnce() -> R) -> R {
        let group = self.global.set_current_key(key.clone());
        self.per_window.set_current_key_in_group((key.clone(), window.clone()), group);
        self.global.enter(|| self.per_window.enter(f))
    }
}

/// What a window function sees while it evaluates a window: the window, the times, and where to
/// emit. Emitted records carry the window's max timestamp.
pub struct WindowContext<'a, W, OUT: Data> {
    pub(crate) window: &'a W,
    pub(crate) watermark: i64,
    pub(crate) out: &'a mut Output<OUT>,
}

impl<W: Window, OUT: Data> WindowContext<'_, W, OUT> {
    /// The window being evaluated.
    pub fn window(&self) -> &W {
        self.window
    }

    /// The operator's current watermark.
    pub fn current_watermark(&self) -> i64 {
        self.watermark
    }

    /// The current processing time.
    pub fn current_processing_time(&self) -> i64 {
        current_processing_time()
    }

    /// Emits a result of the window.
    #[inline]
    pub fn collect(&mut self, value: OUT) {
        self.out.collect(value);
    }

    /// Emits `value` to the side output `tag`.
    pub fn output<S: Data>(&mut self, tag: &OutputTag<S>, value: S) {
        self.out.side_output(tag.id(), value);
    }
}

/// Evaluates a window of a keyed stream with all its elements (or the single result of an
/// incremental aggregation), as Flink's `ProcessWindowFunction`. Closures
/// `|key, ctx, elements| -> Result<()>` implement it.
pub trait ProcessWindowFunction<IN, OUT: Data, K: Key, W: Window>: Clone + Send + Sync + 'static {
    /// Called once per parallel instance before the first window; create state handles here.
    fn open(&mut self, _context: &mut WindowRuntimeContext<'_, K, W>) -> Result<()> {
        Ok(())
    }

    /// Evaluates the window `ctx.window()` of `key` over `elements`; emit with `ctx.collect`.
    fn process(&mut self, key: &K, ctx: &mut WindowContext<'_, W, OUT>, elements: &[IN]) -> Result<()>;

    /// Called when the window is removed (after its allowed lateness): clear per-window state
    /// here.
    fn clear(&mut self, _key: &K, _ctx: &mut WindowContext<'_, W, OUT>) -> Result<()> {
        Ok(())
    }

    /// Runs `batch`, the window operator's work for one batch of input; a function whose
    /// every call needs one shared resource (the Python interpreter) takes it here once. See
    /// [`OneInputOperator::within_batch`](crate::runtime::operator::OneInputOperator::within_batch).
    fn within_batch(batch: &mut dyn FnMut() -> Result<()>) -> Result<()>
    where
        Self: Sized,
    {
        batch()
    }

    /// Called once after the last window.
    fn close(&mut self) -> Result<()> {
        Ok(())
    }
}

impl<IN, OUT: Data, K: Key, W: Window, F> ProcessWindowFunction<IN, OUT, K, W> for F
where
    F: FnMut(&K, &mut WindowContext<'_, W, OUT>, &[IN]) -> Result<()> + Clone + Send + Sync + 'static,
{
    fn process(&mut self, key: &K, ctx: &mut WindowContext<'_, W, OUT>, elements: &[IN]) -> Result<()> {
        self(key, ctx, elements)
    }
}

/// Evaluates a window of a non-keyed stream (`window_all`), as Flink's
/// `ProcessAllWindowFunction`. Closures `|ctx, elements| -> Result<()>` implement it.
pub trait ProcessAllWindowFunction<IN, OUT: Data, W: Window>: Clone + Send + Sync + 'static {
    /// Called once before the first window; create state handles here.
    fn open(&mut self, _context: &mut WindowRuntimeContext<'_, (), W>) -> Result<()> {
        Ok(())
    }

    /// Evaluates the window `ctx.window()` over `elements`.
    fn process(&mut self, ctx: &mut WindowContext<'_, W, OUT>, elements: &[IN]) -> Result<()>;

    /// Runs `batch` (see [`ProcessWindowFunction::within_batch`]).
    fn within_batch(batch: &mut dyn FnMut() -> Result<()>) -> Result<()>
    where
        Self: Sized,
    {
        batch()
    }

    /// Called once after the last window.
    fn close(&mut self) -> Result<()> {
        Ok(())
    }
}

impl<IN, OUT: Data, W: Window, F> ProcessAllWindowFunction<IN, OUT, W> for F
where
    F: FnMut(&mut WindowContext<'_, W, OUT>, &[IN]) -> Result<()> + Clone + Send + Sync + 'static,
{
    fn process(&mut self, ctx: &mut WindowContext<'_, W, OUT>, elements: &[IN]) -> Result<()> {
        self(ctx, elements)
    }
}

/// Runs a [`ProcessAllWindowFunction`] as the window function of the single key `()`.
#[derive(Clone)]
pub(crate) struct AllWindows<P>(pub(crate) P);

impl<IN, OUT: Data, W: Window, P: ProcessAllWindowFunction<IN, OUT, W>> ProcessWindowFunction<IN, OUT, (), W>
    for AllWindows<P>
{
    fn open(&mut self, context: &mut WindowRuntimeContext<'_, (), W>) -> Result<()> {
        self.0.open(context)
    }
    fn process(&mut self, _: &(), ctx: &mut WindowContext<'_, W, OUT>, elements: &[IN]) -> Result<()> {
        self.0.process(ctx, elements)
    }
    fn within_batch(batch: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        P::within_batch(batch)
    }
    fn close(&mut self) -> Result<()> {
        self.0.close()
    }
}

/// Emits the results of an incremental aggregation as they are.
#[derive(Clone, Copy)]
pub(crate) struct PassThrough;

impl<OUT: Data, K: Key, W: Window> ProcessWindowFunction<OUT, OUT, K, W> for PassThrough {
    #[inline]
    fn process(&mut self, _: &K, ctx: &mut WindowContext<'_, W, OUT>, elements: &[OUT]) -> Result<()> {
        for element in elements {
            ctx.collect(element.clone());
        }
        Ok(())
    }
}

/// Runs a `WindowFunction` closure (`apply`): key, window and elements in, results out.
#[derive(Clone)]
pub(crate) struct Apply<F>(pub(crate) F);

impl<IN, OUT: Data, K: Key, W: Window, I, F> ProcessWindowFunction<IN, OUT, K, W> for Apply<F>
where
    I: IntoIterator<Item = OUT>,
    F: FnMut(&K, &W, &[IN]) -> I + Clone + Send + Sync + 'static,
{
    fn process(&mut self, key: &K, ctx: &mut WindowContext<'_, W, OUT>, elements: &[IN]) -> Result<()> {
        for value in (self.0)(key, ctx.window, elements) {
            ctx.collect(value);
        }
        Ok(())
    }
}
