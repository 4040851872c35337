//! What a checkpoint costs the task with the heap backend: fills a heap backend with `KEYS`
//! keys (4,000,000 by default) of a `ValueState<(u64, u64)>` and measures
//!
//! - the task's stall at the barrier: freezing the tables (`snapshot_deferred`), against encoding
//!   everything on the task thread as a synchronous snapshot would;
//! - the encoding that the coordinator thread does instead (`complete` and `encode`);
//! - the copy-on-write cost after the freeze: one pass of updates over every key, which copies
//!   each key group once, against the same pass with nothing frozen.
//!
//! Run: `cargo bench -p pyflink-state --bench heap_snapshot [-- KEYS]`

use std::time::{Duration, Instant};

use pyflink_state::{KeyGroupRange, KeyedStateBackend, ValueState, ValueStateDescriptor};

fn main() {
    let keys: u64 = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(4_000_000);
    let mut backend = KeyedStateBackend::<u64>::new(KeyGroupRange::new(0, 127), 128);
    let state = backend.get_value_state(&ValueStateDescriptor::<(u64, u64)>::new("sum")).unwrap();
    let fill = update_pass(&backend, &state, keys);
    println!("heap backend, {keys} keys of ValueState<(u64, u64)>, 128 key groups");
    println!("fill: {:.2} M updates/s", keys as f64 / fill.as_secs_f64() / 1e6);

    let started = Instant::now();
    let synchronous = backend.snapshot().unwrap().encode().unwrap();
    let synchronous_stall = started.elapsed();

    let started = Instant::now();
    let frozen = backend.snapshot_deferred().unwrap();
    let stall = started.elapsed();
    let writer = std::thread::spawn(move || {
        let started = Instant::now();
        let bytes = frozen.complete().unwrap().encode().unwrap();
        (started.elapsed(), bytes.len())
    });
    let after_freeze = update_pass(&backend, &state, keys);
    let (encoding, size) = writer.join().unwrap();
    let plain = update_pass(&backend, &state, keys);

    println!(
        "task stall at the barrier: {:.3} ms frozen, against {:.0} ms to encode on the task thread",
        stall.as_secs_f64() * 1e3,
        synchronous_stall.as_secs_f64() * 1e3
    );
    println!(
        "encoded by the coordinator thread: {:.0} ms, {} MB (synchronous: {} MB)",
        encoding.as_secs_f64() * 1e3,
        size >> 20,
        synchronous.len() >> 20
    );
    println!(
        "update pass over every key: {:.0} ms right after the freeze (copying each group once, \
         while the coordinator encodes), {:.0} ms with nothing frozen",
        after_freeze.as_secs_f64() * 1e3,
        plain.as_secs_f64() * 1e3
    );
}

/// Adds one to every key's sum; returns the time it took.
fn update_pass(backend: &KeyedStateBackend<u64>, state: &ValueState<(u64, u64)>, keys: u64) -> Duration {
    let started = Instant::now();
    backend.enter(|| {
        for key in 0..keys {
            backend.set_current_key(key);
            let (count, sum) = state.value().unwrap_or((0, 0));
            state.update((count + 1, sum + key));
        }
    });
    started.elapsed()
}
