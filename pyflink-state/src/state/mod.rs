//! The keyed state kinds of Flink, one per file: each has a descriptor (its name, type and
//! time-to-live) and a handle whose calls read and write the current key's entry.
//!
//! A handle is a small thread-safe token (which backend, which state). User functions are shared
//! between worker threads as prototypes; each worker's operator makes its own backend current
//! while the function runs, and the token resolves to that backend's storage.

pub(crate) mod aggregating;
pub(crate) mod list;
pub(crate) mod map;
pub(crate) mod reducing;
pub(crate) mod value;

use std::any::Any;
use std::rc::Rc;
use std::sync::Arc;

use crate::backend::with_entered_state;
use crate::cells::CellAccess;
use crate::ttl::{Stamped, StateTtlConfig};
use crate::StateError;

/// Which state of which backend a handle refers to.
#[derive(Debug, Clone)]
pub(crate) struct StateRef {
    pub(crate) backend: u64,
    pub(crate) index: usize,
    pub(crate) name: Arc<str>,
}

impl StateRef {
    /// Runs `f` with the registered object of this state in the entered backend.
    pub(crate) fn with<T: ?Sized + 'static, R>(
        &self,
        f: impl FnOnce(&T) -> Result<R, StateError>,
    ) -> Result<R, StateError> {
        with_entered_state(self.backend, self.index, &self.name, |state: &dyn Any| {
            let object = state
                .downcast_ref::<Rc<T>>()
                .expect("a state handle's index and type come from the backend that registered it");
            f(object.as_ref())
        })
    }

    /// Runs `f` with the cells of this state.
    #[inline]
    pub(crate) fn cells<S: 'static, R>(
        &self,
        f: impl FnOnce(&dyn CellAccess<S>) -> Result<R, StateError>,
    ) -> Result<R, StateError> {
        self.with::<dyn CellAccess<S>, R>(|cells| f(cells))
    }
}

/// The stamp of a value written now: the TTL clock, or 0 without TTL.
#[inline]
pub(crate) fn write_stamp<S>(cells: &dyn CellAccess<S>) -> i64 {
    cells.ttl().map_or(0, |ttl| ttl.now())
}

/// The current key's value of a single-value cell, with Flink's TTL rules: an expired value is
/// removed (and returned only if the state's visibility allows), a live one is renewed if reads
/// renew.
pub(crate) fn read_stamped<V: Clone + 'static>(cells: &dyn CellAccess<Stamped<V>>) -> Result<Option<V>, StateError> {
    let Some(ttl) = cells.ttl() else {
        let mut out = None;
        cells.read(&mut |cell| out = cell.map(|s| s.value.clone()))?;
        return Ok(out);
    };
    let (config, now) = (&ttl.config, ttl.now());
    let mut out = None;
    let mut expired = false;
    cells.read(&mut |cell| {
        if let Some(stamped) = cell {
            expired = config.is_expired(stamped.stamp, now);
            if !expired || config.returns_expired() {
                out = Some(stamped.value.clone());
            }
        }
    })?;
    if expired {
        cells.modify(&mut |cell| *cell = None)?;
    } else if out.is_some() && config.renews_on_read() {
        cells.modify(&mut |cell| {
            if let Some(stamped) = cell {
                stamped.stamp = now;
            }
        })?;
    }
    Ok(out)
}

/// Replaces the current key's single-value cell with `value`, stamped now.
pub(crate) fn write_stamped<V: 'static>(cells: &dyn CellAccess<Stamped<V>>, value: V) -> Result<(), StateError> {
    let stamp = write_stamp(cells);
    let mut value = Some(value);
    cells.modify(&mut |cell| {
        if let Some(value) = value.take() {
            *cell = Some(Stamped { stamp, value });
        }
    })
}

/// Folds `input` into the current key's single-value cell: `fold(None, input)` when the cell is
/// empty or expired, `fold(Some(current), input)` otherwise; the result is stamped now.
pub(crate) fn fold_stamped<V: 'static, IN>(
    cells: &dyn CellAccess<Stamped<V>>,
    input: IN,
    fold: impl FnOnce(Option<V>, IN) -> V,
) -> Result<(), StateError> {
    let ttl = cells.ttl().map(|t| (t.config.clone(), t.now()));
    let stamp = ttl.as_ref().map_or(0, |(_, now)| *now);
    let mut step = Some((input, fold));
    cells.modify(&mut |cell| {
        if let Some((input, fold)) = step.take() {
            let current = cell.take().filter(|s| ttl.as_ref().is_none_or(|(c, now)| !c.is_expired(s.stamp, *now)));
            *cell = Some(Stamped { stamp, value: fold(current.map(|s| s.value), input) });
        }
    })
}

/// Removes the current key's cell.
pub(crate) fn clear_cell<S: 'static>(cells: &dyn CellAccess<S>) -> Result<(), StateError> {
    cells.modify(&mut |cell| *cell = None)
}

/// The name and time-to-live every descriptor has.
#[derive(Debug, Clone)]
pub(crate) struct DescriptorBase {
    pub(crate) name: String,
    pub(crate) ttl: Option<StateTtlConfig>,
}

impl DescriptorBase {
    pub(crate) fn new(name: String) -> Self {
        DescriptorBase { name, ttl: None }
    }

    pub(crate) fn enable_ttl(&mut self, config: StateTtlConfig) {
        self.ttl = config.is_enabled().then_some(config);
    }
}
