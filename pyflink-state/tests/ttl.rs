//! State time-to-live as Flink documents it, on both backends, with a clock the test moves.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use pyflink_state::{
    KeyGroupRange, KeyedStateBackend, ListStateDescriptor, MapStateDescriptor, ReducingStateDescriptor,
    StateBackendConfig, StateTtlConfig, StateTtlConfigBuilder, TtlTimeProvider, UpdateType, ValueStateDescriptor,
};

/// A backend of each kind in this build whose TTL clock is `clock`.
fn backends(clock: &Arc<AtomicI64>) -> Vec<KeyedStateBackend<u32>> {
    [
        StateBackendConfig::HashMap,
        #[cfg(feature = "rocksdb")]
        StateBackendConfig::RocksDb(pyflink_state::RocksDbOptions::default()),
    ]
    .iter()
    .map(|config| {
        let mut backend = KeyedStateBackend::from_config(config, KeyGroupRange::new(0, 127), 128, "ttl").unwrap();
        let clock = Arc::clone(clock);
        backend.set_ttl_time_provider(TtlTimeProvider::new(move || clock.load(Ordering::SeqCst)));
        backend
    })
    .collect()
}

fn ttl_ms(ms: u64) -> StateTtlConfigBuilder {
    StateTtlConfig::new_builder(Duration::from_millis(ms))
}

#[test]
fn a_value_expires_ttl_after_its_last_write() {
    let clock = Arc::new(AtomicI64::new(0));
    for mut backend in backends(&clock) {
        clock.store(0, Ordering::SeqCst);
        let mut descriptor = ValueStateDescriptor::<i64>::new("v");
        descriptor.enable_time_to_live(ttl_ms(10).build());
        let v = backend.get_value_state(&descriptor).unwrap();
        backend.set_current_key(1);
        backend.enter(|| {
            v.update(1);
            clock.store(5, Ordering::SeqCst);
            assert_eq!(v.value(), Some(1), "alive before the ttl");
            clock.store(9, Ordering::SeqCst);
            assert_eq!(v.value(), Some(1), "reads do not renew with OnCreateAndWrite");
            clock.store(10, Ordering::SeqCst);
            assert_eq!(v.value(), None, "expired ttl after the write");
            v.update(2);
            clock.store(19, Ordering::SeqCst);
            assert_eq!(v.value(), Some(2), "a write renews");
        });
    }
}

#[test]
fn reads_renew_with_on_read_and_write() {
    let clock = Arc::new(AtomicI64::new(0));
    for mut backend in backends(&clock) {
        clock.store(0, Ordering::SeqCst);
        let mut descriptor = ValueStateDescriptor::<i64>::new("v");
        descriptor.enable_time_to_live(ttl_ms(10).set_update_type(UpdateType::OnReadAndWrite).build());
        let v = backend.get_value_state(&descriptor).unwrap();
        backend.set_current_key(1);
        backend.enter(|| {
            v.update(1);
            for t in [8, 16, 24] {
                clock.store(t, Ordering::SeqCst);
                assert_eq!(v.value(), Some(1), "read at {t} renews");
            }
            clock.store(34, Ordering::SeqCst);
            assert_eq!(v.value(), None);
        });
    }
}

#[test]
fn expired_values_can_be_returned_once_until_cleaned_up() {
    let clock = Arc::new(AtomicI64::new(0));
    for mut backend in backends(&clock) {
        clock.store(0, Ordering::SeqCst);
        let mut descriptor = ValueStateDescriptor::<i64>::new("v");
        descriptor.enable_time_to_live(ttl_ms(10).return_expired_if_not_cleaned_up().build());
        let v = backend.get_value_state(&descriptor).unwrap();
        backend.set_current_key(1);
        backend.enter(|| {
            v.update(7);
            clock.store(50, Ordering::SeqCst);
            assert_eq!(v.value(), Some(7), "expired but not cleaned up yet");
            assert_eq!(v.value(), None, "the read removed it");
        });
    }
}

#[test]
fn list_elements_and_map_entries_expire_one_by_one() {
    let clock = Arc::new(AtomicI64::new(0));
    for mut backend in backends(&clock) {
        clock.store(0, Ordering::SeqCst);
        let mut list = ListStateDescriptor::<String>::new("l");
        list.enable_time_to_live(ttl_ms(10).build());
        let mut map = MapStateDescriptor::<u8, String>::new("m");
        map.enable_time_to_live(ttl_ms(10).build());
        let (list, map) = (backend.get_list_state(&list).unwrap(), backend.get_map_state(&map).unwrap());
        backend.set_current_key(1);
        backend.enter(|| {
            list.add("early".into()).unwrap();
            map.put(1, "early".into()).unwrap();
            clock.store(6, Ordering::SeqCst);
            list.add("late".into()).unwrap();
            map.put(2, "late".into()).unwrap();
            clock.store(12, Ordering::SeqCst);
            assert_eq!(list.get().unwrap(), vec!["late".to_string()]);
            assert_eq!(map.items().unwrap(), vec![(2, "late".to_string())]);
            assert_eq!(map.get(&1).unwrap(), None);
            clock.store(16, Ordering::SeqCst);
            assert!(list.get().unwrap().is_empty());
            assert!(map.is_empty().unwrap());
        });
    }
}

#[test]
fn an_expired_reducing_value_is_not_folded_into_the_next() {
    let clock = Arc::new(AtomicI64::new(0));
    for mut backend in backends(&clock) {
        clock.store(0, Ordering::SeqCst);
        let mut descriptor = ReducingStateDescriptor::new("sum", |a: i64, b: i64| a + b);
        descriptor.enable_time_to_live(ttl_ms(10).build());
        let sum = backend.get_reducing_state(&descriptor).unwrap();
        backend.set_current_key(1);
        backend.enter(|| {
            sum.add(5).unwrap();
            sum.add(1).unwrap();
            clock.store(20, Ordering::SeqCst);
            sum.add(3).unwrap();
            assert_eq!(sum.get().unwrap(), Some(3));
        });
    }
}

/// How many entries of state `name` a snapshot of `backend` holds.
fn entries_in_snapshot(backend: &KeyedStateBackend<u32>, name: &str) -> usize {
    let snapshot = backend.snapshot().unwrap();
    snapshot.section(name).map_or(0, |s| s.groups.iter().map(|(_, e)| e.len()).sum())
}

#[test]
fn full_snapshots_leave_expired_entries_out_unless_disabled() {
    let clock = Arc::new(AtomicI64::new(0));
    for mut backend in backends(&clock) {
        clock.store(0, Ordering::SeqCst);
        let mut cleaned = ValueStateDescriptor::<i64>::new("cleaned");
        cleaned.enable_time_to_live(ttl_ms(10).build());
        let mut kept = ValueStateDescriptor::<i64>::new("kept");
        kept.enable_time_to_live(ttl_ms(10).disable_cleanup_in_background().build());
        let (cleaned, kept) = (backend.get_value_state(&cleaned).unwrap(), backend.get_value_state(&kept).unwrap());
        backend.enter(|| {
            for key in 0..20 {
                backend.set_current_key(key);
                cleaned.update(1);
                kept.update(1);
            }
        });
        clock.store(30, Ordering::SeqCst);
        assert_eq!(entries_in_snapshot(&backend, "cleaned"), 0);
        assert_eq!(entries_in_snapshot(&backend, "kept"), 20, "no cleanup: still stored");
        backend.set_current_key(3);
        backend.enter(|| assert_eq!(kept.value(), None, "yet never returned"));
    }
}

#[test]
fn the_heap_backend_sweeps_expired_entries_incrementally() {
    let clock = Arc::new(AtomicI64::new(0));
    let mut backend = backends(&clock).remove(0);
    let mut descriptor = ValueStateDescriptor::<i64>::new("v");
    descriptor.enable_time_to_live(ttl_ms(10).disable_cleanup_in_background().cleanup_incrementally(10).build());
    let v = backend.get_value_state(&descriptor).unwrap();
    backend.enter(|| {
        for key in 0..200 {
            backend.set_current_key(key);
            v.update(1);
        }
    });
    clock.store(100, Ordering::SeqCst);
    backend.set_current_key(1000);
    backend.enter(|| {
        for _ in 0..5 {
            v.update(2);
        }
    });
    // Five accesses sweep about 50 entries (whole key groups at a time) of the 200 expired ones.
    let left = entries_in_snapshot(&backend, "v");
    assert!(left <= 171, "the sweep removed expired entries, {left} of 201 left");
    assert!(left > 100, "but only about 10 per access: {left} of 201 left");
}
