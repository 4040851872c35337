//! Reuse of batch vectors on each worker thread.
//!
//! Every batch an operator sends is a vector that the receiving operator drains; without reuse
//! each batch is a fresh allocation, freed on whichever worker consumed it. Across threads that
//! makes the allocator hand memory back to the system and fault it in again, which costs more
//! than the records' processing. Drained batches go into a small per-thread, per-type pool
//! instead, and senders take their next buffer from it.

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::HashMap;

use crate::runtime::output::BATCH;

/// The most spare batches kept per element type and thread.
const MAX_SPARE: usize = 32;

thread_local! {
    /// Spare batches by element type: each value is a `Vec<Vec<T>>` behind `Any`.
    static SPARE: RefCell<HashMap<TypeId, Box<dyn Any>>> = RefCell::new(HashMap::new());
}

/// Empties `batch` and takes a full-size one for reuse, leaving an unallocated vector in its
/// place.
pub(crate) fn recycle<T: 'static>(batch: &mut Vec<T>) {
    batch.clear();
    if batch.capacity() < BATCH {
        return;
    }
    let spare_batch = std::mem::take(batch);
    SPARE.with(|spare| {
        let mut spare = spare.borrow_mut();
        let pool = spare.entry(TypeId::of::<T>()).or_insert_with(|| Box::new(Vec::<Vec<T>>::new()));
        let pool = pool.downcast_mut::<Vec<Vec<T>>>().expect("pools are keyed by their element type");
        if pool.len() < MAX_SPARE {
            pool.push(spare_batch);
        }
    });
}

/// An empty batch with room for [`BATCH`] elements, reused when one is spare.
pub(crate) fn fresh_batch<T: 'static>() -> Vec<T> {
    let reused = SPARE.with(|spare| {
        spare
            .borrow_mut()
            .get_mut(&TypeId::of::<T>())
            .and_then(|pool| pool.downcast_mut::<Vec<Vec<T>>>().expect("pools are keyed by their element type").pop())
    });
    reused.unwrap_or_else(|| Vec::with_capacity(BATCH))
}

/// Gives `buffer` room for a full batch again after its contents were sent. Timely may hand a
/// vector back when it sends; that one is kept if it is large enough.
#[inline]
pub(crate) fn refill<T: 'static>(buffer: &mut Vec<T>) {
    buffer.clear();
    if buffer.capacity() < BATCH {
        *buffer = fresh_batch();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drained_batches_are_reused_per_type() {
        let mut batch: Vec<u64> = fresh_batch();
        batch.extend(0..10);
        let address = batch.as_ptr();
        recycle(&mut batch);
        assert_eq!(batch.capacity(), 0, "the drained vector is taken");
        let other: Vec<i32> = fresh_batch();
        assert_ne!(other.as_ptr() as usize, address as usize, "another type gets its own batch");
        let again: Vec<u64> = fresh_batch();
        assert_eq!(again.as_ptr(), address, "the spare batch of the same type is reused");
        assert!(again.is_empty() && again.capacity() >= BATCH);
    }
}
