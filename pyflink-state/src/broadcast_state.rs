//! Broadcast state: maps that every instance of an operator holds in full, written from a
//! broadcast stream and read while processing the other input, as Flink's `BroadcastState`.
//! Every instance sees the same broadcast elements, so every copy is the same; a restore at any
//! parallelism gives each new instance one old instance's copy.
//!
//! ```
//! use pyflink_state::{BroadcastStateStore, MapStateDescriptor};
//!
//! let rules = MapStateDescriptor::<String, u32>::new("rules");
//! let mut store = BroadcastStateStore::new(vec!["rules".to_string()]);
//! store.get_broadcast_state(&rules).unwrap().put("max".into(), 3);
//! let restored = BroadcastStateStore::restore(&store.snapshot().unwrap(), vec!["rules".to_string()]).unwrap();
//! let mut restored = restored;
//! assert_eq!(restored.get_broadcast_state(&rules).unwrap().get(&"max".to_string()), Some(&3));
//! ```

use std::any::{type_name, Any};
use std::collections::HashMap;
use std::hash::Hash;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{codec, MapStateDescriptor, StateError};

/// The encoded (key, value) entries of one map.
type EncodedEntries = Vec<(Vec<u8>, Vec<u8>)>;

/// A map of the store with its types hidden.
trait ErasedMap: Any {
    fn as_any_mut(&mut self) -> &mut dyn Any;
    fn encode(&self) -> Result<EncodedEntries, StateError>;
    fn value_type(&self) -> &'static str;
}

impl<UK, UV> ErasedMap for HashMap<UK, UV>
where
    UK: Hash + Eq + Serialize + 'static,
    UV: Serialize + 'static,
{
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn encode(&self) -> Result<EncodedEntries, StateError> {
        self.iter().map(|(k, v)| Ok((codec::encode(k)?, codec::encode(v)?))).collect()
    }
    fn value_type(&self) -> &'static str {
        type_name::<(UK, UV)>()
    }
}

/// The broadcast state of one operator instance: the maps its broadcast input declared.
pub struct BroadcastStateStore {
    declared: Vec<String>,
    maps: HashMap<String, Box<dyn ErasedMap>>,
    restored: HashMap<String, EncodedEntries>,
}

impl BroadcastStateStore {
    /// An empty store for the maps named `declared` (those passed to `broadcast_with`).
    pub fn new(declared: Vec<String>) -> Self {
        BroadcastStateStore { declared, maps: HashMap::new(), restored: HashMap::new() }
    }

    fn map<UK, UV>(&mut self, descriptor: &MapStateDescriptor<UK, UV>) -> Result<&mut HashMap<UK, UV>, StateError>
    where
        UK: Hash + Eq + Serialize + DeserializeOwned + 'static,
        UV: Serialize + DeserializeOwned + 'static,
    {
        let name = descriptor.name();
        if !self.declared.iter().any(|d| d == name) {
            return Err(StateError::UndeclaredBroadcastState { name: name.to_string() });
        }
        if !self.maps.contains_key(name) {
            let mut map = HashMap::<UK, UV>::new();
            for (key, value) in self.restored.remove(name).unwrap_or_default() {
                map.insert(codec::decode(&key, name)?, codec::decode(&value, name)?);
            }
            self.maps.insert(name.to_string(), Box::new(map));
        }
        let map = self.maps.get_mut(name).expect("inserted above");
        let existing = map.value_type();
        map.as_any_mut().downcast_mut::<HashMap<UK, UV>>().ok_or_else(|| StateError::TypeMismatch {
            name: name.to_string(),
            existing,
            requested: type_name::<(UK, UV)>(),
        })
    }

    /// The map `descriptor` names, to read and write (while processing broadcast elements).
    pub fn get_broadcast_state<UK, UV>(
        &mut self,
        descriptor: &MapStateDescriptor<UK, UV>,
    ) -> Result<BroadcastState<'_, UK, UV>, StateError>
    where
        UK: Hash + Eq + Serialize + DeserializeOwned + 'static,
        UV: Serialize + DeserializeOwned + 'static,
    {
        Ok(BroadcastState { map: self.map(descriptor)? })
    }

    /// The map `descriptor` names, to read (while processing the other input, whose instances
    /// must not make their copies differ).
    pub fn get_read_only_broadcast_state<UK, UV>(
        &mut self,
        descriptor: &MapStateDescriptor<UK, UV>,
    ) -> Result<ReadOnlyBroadcastState<'_, UK, UV>, StateError>
    where
        UK: Hash + Eq + Serialize + DeserializeOwned + 'static,
        UV: Serialize + DeserializeOwned + 'static,
    {
        Ok(ReadOnlyBroadcastState { map: self.map(descriptor)? })
    }

    /// The store's bytes for a checkpoint.
    pub fn snapshot(&self) -> Result<Vec<u8>, StateError> {
        let mut maps: Vec<(String, EncodedEntries)> = Vec::new();
        for (name, map) in &self.maps {
            maps.push((name.clone(), map.encode()?));
        }
        maps.extend(self.restored.iter().map(|(n, e)| (n.clone(), e.clone())));
        maps.sort_by(|a, b| a.0.cmp(&b.0));
        codec::encode(&maps)
    }

    /// Whether no map has been used or restored.
    pub fn is_empty(&self) -> bool {
        self.maps.is_empty() && self.restored.is_empty()
    }

    /// A store restored from one instance's snapshot.
    pub fn restore(bytes: &[u8], declared: Vec<String>) -> Result<Self, StateError> {
        let maps: Vec<(String, EncodedEntries)> = codec::decode(bytes, "broadcast state")?;
        Ok(BroadcastStateStore { declared, maps: HashMap::new(), restored: maps.into_iter().collect() })
    }
}

/// A broadcast map to read and write.
pub struct BroadcastState<'a, UK, UV> {
    map: &'a mut HashMap<UK, UV>,
}

impl<UK: Hash + Eq + Clone, UV: Clone> BroadcastState<'_, UK, UV> {
    /// The value of `key`.
    pub fn get(&self, key: &UK) -> Option<&UV> {
        self.map.get(key)
    }

    /// Sets `key` to `value`.
    pub fn put(&mut self, key: UK, value: UV) {
        self.map.insert(key, value);
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: &UK) {
        self.map.remove(key);
    }

    /// Whether `key` is present.
    pub fn contains(&self, key: &UK) -> bool {
        self.map.contains_key(key)
    }

    /// Every entry, in no particular order.
    pub fn items(&self) -> Vec<(UK, UV)> {
        self.map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.map.clear();
    }
}

/// A broadcast map to read.
pub struct ReadOnlyBroadcastState<'a, UK, UV> {
    map: &'a HashMap<UK, UV>,
}

impl<UK: Hash + Eq + Clone, UV: Clone> ReadOnlyBroadcastState<'_, UK, UV> {
    /// The value of `key`.
    pub fn get(&self, key: &UK) -> Option<&UV> {
        self.map.get(key)
    }

    /// Whether `key` is present.
    pub fn contains(&self, key: &UK) -> bool {
        self.map.contains_key(key)
    }

    /// Every entry, in no particular order.
    pub fn items(&self) -> Vec<(UK, UV)> {
        self.map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}
