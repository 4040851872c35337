//! `MapState`: a map of user keys to values per key, as Flink's `MapState<UK, UV>`. With a
//! time-to-live, every entry expires on its own.

use std::collections::HashMap;
use std::hash::Hash;
use std::marker::PhantomData;

use crate::cells::CellAccess;
use crate::state::{clear_cell, write_stamp, DescriptorBase, StateRef};
use crate::ttl::{Stamped, StateTtlConfig};
use crate::StateError;

/// Describes a map state: its name, user key and value types, and time-to-live.
#[derive(Debug, Clone)]
pub struct MapStateDescriptor<UK, UV> {
    pub(crate) base: DescriptorBase,
    _types: PhantomData<fn() -> (UK, UV)>,
}

impl<UK, UV> MapStateDescriptor<UK, UV> {
    /// A descriptor for the state called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        MapStateDescriptor { base: DescriptorBase::new(name.into()), _types: PhantomData }
    }

    /// The state's name.
    pub fn name(&self) -> &str {
        &self.base.name
    }

    /// Lets entries expire as `config` says.
    pub fn enable_time_to_live(&mut self, config: StateTtlConfig) -> &mut Self {
        self.base.enable_ttl(config);
        self
    }
}

type Entries<UK, UV> = HashMap<UK, Stamped<UV>>;

/// A handle to one map per key.
///
/// ```
/// use pyflink_state::{KeyGroupRange, KeyedStateBackend, MapStateDescriptor};
///
/// let mut backend = KeyedStateBackend::<u8>::new(KeyGroupRange::new(0, 127), 128);
/// let clicks = backend.get_map_state(&MapStateDescriptor::<String, u32>::new("clicks")).unwrap();
/// backend.set_current_key(7);
/// backend.enter(|| {
///     clicks.put("home".into(), 2).unwrap();
///     clicks.put("cart".into(), 1).unwrap();
///     assert_eq!(clicks.get(&"home".into()).unwrap(), Some(2));
///     clicks.remove(&"home".into()).unwrap();
///     assert_eq!(clicks.keys().unwrap(), vec!["cart".to_string()]);
/// });
/// ```
pub struct MapState<UK, UV> {
    pub(crate) state: StateRef,
    _types: PhantomData<fn() -> (UK, UV)>,
}

impl<UK, UV> Clone for MapState<UK, UV> {
    fn clone(&self) -> Self {
        MapState { state: self.state.clone(), _types: PhantomData }
    }
}

impl<UK: Hash + Eq + Clone + 'static, UV: Clone + 'static> MapState<UK, UV> {
    pub(crate) fn new(state: StateRef) -> Self {
        MapState { state, _types: PhantomData }
    }

    fn with_cells<R>(
        &self,
        f: impl FnOnce(&dyn CellAccess<Entries<UK, UV>>) -> Result<R, StateError>,
    ) -> Result<R, StateError> {
        self.state.cells::<Entries<UK, UV>, _>(f)
    }

    /// The value of `key` in the current key's map.
    pub fn get(&self, key: &UK) -> Result<Option<UV>, StateError> {
        self.with_cells(|cells| {
            let mut found = None;
            visit_live(cells, Some(key), &mut |_, v| found = Some(v.clone()))?;
            Ok(found)
        })
    }

    /// Whether the current key's map has `key`.
    pub fn contains(&self, key: &UK) -> Result<bool, StateError> {
        Ok(self.get(key)?.is_some())
    }

    /// Sets `key` to `value` in the current key's map.
    pub fn put(&self, key: UK, value: UV) -> Result<(), StateError> {
        self.put_all(vec![(key, value)])
    }

    /// Sets every `(key, value)` of `entries` in the current key's map.
    pub fn put_all(&self, entries: Vec<(UK, UV)>) -> Result<(), StateError> {
        self.with_cells(|cells| {
            let stamp = write_stamp(cells);
            let mut entries = Some(entries);
            cells.modify(&mut |cell| {
                let map = cell.get_or_insert_with(HashMap::new);
                for (key, value) in entries.take().into_iter().flatten() {
                    map.insert(key, Stamped { stamp, value });
                }
                if map.is_empty() {
                    *cell = None;
                }
            })
        })
    }

    /// Removes `key` from the current key's map.
    pub fn remove(&self, key: &UK) -> Result<(), StateError> {
        self.with_cells(|cells| {
            cells.modify(&mut |cell| {
                if let Some(map) = cell {
                    map.remove(key);
                    if map.is_empty() {
                        *cell = None;
                    }
                }
            })
        })
    }

    /// The current key's (key, value) entries, in no particular order.
    pub fn items(&self) -> Result<Vec<(UK, UV)>, StateError> {
        self.with_cells(|cells| {
            let mut out = Vec::new();
            visit_live(cells, None, &mut |k, v| out.push((k.clone(), v.clone())))?;
            Ok(out)
        })
    }

    /// The current key's user keys.
    pub fn keys(&self) -> Result<Vec<UK>, StateError> {
        Ok(self.items()?.into_iter().map(|(k, _)| k).collect())
    }

    /// The current key's values.
    pub fn values(&self) -> Result<Vec<UV>, StateError> {
        Ok(self.items()?.into_iter().map(|(_, v)| v).collect())
    }

    /// Whether the current key's map is empty.
    pub fn is_empty(&self) -> Result<bool, StateError> {
        Ok(self.items()?.is_empty())
    }

    /// Removes the current key's map.
    pub fn clear(&self) -> Result<(), StateError> {
        self.with_cells(clear_cell)
    }
}

/// Calls `f` with the live entries of the current key's map (only `only`'s, if given), with the
/// TTL rules: expired entries are removed (and visited only if visibility allows), visited live
/// ones renewed if reads renew.
fn visit_live<UK: Hash + Eq + Clone + 'static, UV: 'static>(
    cells: &dyn CellAccess<Entries<UK, UV>>,
    only: Option<&UK>,
    f: &mut dyn FnMut(&UK, &UV),
) -> Result<(), StateError> {
    let Some(ttl) = cells.ttl() else {
        return cells.read(&mut |cell| {
            let Some(map) = cell else { return };
            match only {
                Some(key) => {
                    if let Some(e) = map.get(key) {
                        f(key, &e.value);
                    }
                }
                None => map.iter().for_each(|(k, e)| f(k, &e.value)),
            }
        });
    };
    let (config, now) = (&ttl.config, ttl.now());
    let mut touched = false;
    cells.read(&mut |cell| {
        let Some(map) = cell else { return };
        let mut visit = |k: &UK, e: &Stamped<UV>| {
            let expired = config.is_expired(e.stamp, now);
            touched |= expired || config.renews_on_read();
            if !expired || config.returns_expired() {
                f(k, &e.value);
            }
        };
        match only {
            Some(key) => {
                if let Some(e) = map.get(key) {
                    visit(key, e);
                }
            }
            None => map.iter().for_each(|(k, e)| visit(k, e)),
        }
    })?;
    if touched {
        let renew = config.renews_on_read();
        cells.modify(&mut |cell| {
            let Some(map) = cell else { return };
            map.retain(|_, e| !config.is_expired(e.stamp, now));
            if renew {
                match only {
                    Some(key) => map.get_mut(key).into_iter().for_each(|e| e.stamp = now),
                    None => map.values_mut().for_each(|e| e.stamp = now),
                }
            }
            if map.is_empty() {
                *cell = None;
            }
        })?;
    }
    Ok(())
}
