//! Python objects as the records and keys of the engine.

use std::fmt;

use pyflink_core::FlinkDisplay;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyInt, PyString, PyTuple};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Pickles `value` with cloudpickle, which also handles lambdas and local classes.
pub fn pickle(value: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    let py = value.py();
    let bytes = py.import("cloudpickle")?.call_method1("dumps", (value,))?;
    Ok(bytes.cast::<PyBytes>()?.as_bytes().to_vec())
}

/// Unpickles `bytes`.
pub fn unpickle<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    py.import("pickle")?.call_method1("loads", (PyBytes::new(py, bytes),))
}

/// A Python object as a record. It stays a Python object between operators of one worker;
/// checkpoints and exchanges between processes pickle it, as PyFlink's `PICKLED_BYTE_ARRAY`
/// type does.
pub struct PyValue(pub Py<PyAny>);

impl PyValue {
    /// The object, bound to the interpreter.
    pub fn bind<'py>(&self, py: Python<'py>) -> &Bound<'py, PyAny> {
        self.0.bind(py)
    }
}

impl Clone for PyValue {
    fn clone(&self) -> Self {
        // A new reference needs the interpreter; taking it is cheap when the thread has it.
        Python::attach(|py| PyValue(self.0.clone_ref(py)))
    }
}

impl fmt::Debug for PyValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_flink_string())
    }
}

impl FlinkDisplay for PyValue {
    fn fmt_flink(&self, out: &mut String) {
        Python::attach(|py| match self.bind(py).str() {
            Ok(text) => out.push_str(&text.to_string_lossy()),
            Err(_) => out.push_str("<object whose __str__ raised>"),
        })
    }
}

impl Serialize for PyValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let bytes = Python::attach(|py| pickle(self.bind(py)))
            .map_err(|e| serde::ser::Error::custom(format!("cannot pickle a record: {e}")))?;
        serializer.serialize_bytes(&bytes)
    }
}

impl<'de> Deserialize<'de> for PyValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let bytes = serde_bytes::ByteBuf::deserialize(deserializer)?;
        Python::attach(|py| unpickle(py, &bytes).map(|value| PyValue(value.unbind())))
            .map_err(|e| serde::de::Error::custom(format!("cannot unpickle a record: {e}")))
    }
}

/// A Python key, by value: `None`, booleans, integers, strings, bytes and tuples of them are
/// compared and hashed as themselves; any other key by its pickled bytes, as PyFlink compares
/// keys of the default `PICKLED_BYTE_ARRAY` type. Key groups come from the key's stable encoding
/// (`pyflink_state::key_encoding`: the variant's index, then its value), so every worker and
/// every restore agrees on a key's owner; the variants' order is part of that encoding.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PyKey {
    /// `None`.
    None,
    /// A `bool`.
    Bool(bool),
    /// An `int` that fits 64 bits.
    Int(i64),
    /// A `str`.
    Str(String),
    /// A `bytes`.
    Bytes(#[serde(with = "serde_bytes")] Vec<u8>),
    /// A `tuple` of keys.
    Tuple(Vec<PyKey>),
    /// Any other object, pickled.
    Pickled(#[serde(with = "serde_bytes")] Vec<u8>),
}

impl PyKey {
    /// The key of a Python object.
    pub fn from_object(value: &Bound<'_, PyAny>) -> PyResult<PyKey> {
        if value.is_none() {
            return Ok(PyKey::None);
        }
        // `bool` before `int`: it is a subclass of `int`.
        if let Ok(flag) = value.cast::<PyBool>() {
            return Ok(PyKey::Bool(flag.is_true()));
        }
        if value.is_instance_of::<PyInt>() {
            if let Ok(int) = value.extract::<i64>() {
                return Ok(PyKey::Int(int));
            }
        }
        if let Ok(text) = value.cast::<PyString>() {
            return Ok(PyKey::Str(text.to_str()?.to_string()));
        }
        if let Ok(bytes) = value.cast::<PyBytes>() {
            return Ok(PyKey::Bytes(bytes.as_bytes().to_vec()));
        }
        if let Ok(tuple) = value.cast::<PyTuple>() {
            return tuple.iter().map(|item| PyKey::from_object(&item)).collect::<PyResult<_>>().map(PyKey::Tuple);
        }
        pickle(value).map(PyKey::Pickled)
    }

    /// The Python object of the key (an equal one: the selector's object itself is not kept).
    pub fn to_object<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(match self {
            PyKey::None => py.None().into_bound(py),
            PyKey::Bool(flag) => PyBool::new(py, *flag).to_owned().into_any(),
            PyKey::Int(int) => int.into_pyobject(py)?.into_any(),
            PyKey::Str(text) => PyString::new(py, text).into_any(),
            PyKey::Bytes(bytes) => PyBytes::new(py, bytes).into_any(),
            PyKey::Tuple(items) => {
                let items = items.iter().map(|item| item.to_object(py)).collect::<PyResult<Vec<_>>>()?;
                PyTuple::new(py, items)?.into_any()
            }
            PyKey::Pickled(bytes) => unpickle(py, bytes)?,
        })
    }
}

/// A record of a keyed stream: its key, selected once, and the record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyedRecord {
    /// The key the selector returned.
    pub key: PyKey,
    /// The record.
    pub value: PyValue,
}

impl FlinkDisplay for KeyedRecord {
    fn fmt_flink(&self, out: &mut String) {
        self.value.fmt_flink(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pyflink_core::key_encoding::key_hash;

    #[test]
    fn python_keys_encode_as_their_variant_then_their_value() {
        // The variant's index is the first word (None 0, Bool 1, Int 2, Str 3, Bytes 4, Tuple 5,
        // Pickled 6), so `"alice"` and the Rust tuple `(3u32, "alice")` share one encoding.
        assert_eq!(key_hash(&PyKey::Str("alice".into())), key_hash(&(3u32, "alice")));
        assert_eq!(key_hash(&PyKey::Int(-1)), key_hash(&(2u32, -1i64)));
        assert_eq!(key_hash(&PyKey::None), key_hash(&0u32));
        let tuple = PyKey::Tuple(vec![PyKey::Str("a".into()), PyKey::Bool(true)]);
        assert_eq!(key_hash(&tuple), key_hash(&(5u32, 2u64, (3u32, "a"), (1u32, true))));
        // Bytes and pickles are encoded as byte strings, not as sequences of numbers.
        struct Bytes<'a>(&'a [u8]);
        impl Serialize for Bytes<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_bytes(self.0)
            }
        }
        assert_eq!(key_hash(&PyKey::Pickled(b"\x80\x05".to_vec())), key_hash(&(6u32, Bytes(b"\x80\x05"))));
    }
}
