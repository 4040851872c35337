//! Fuzzes the decoder of keyed state snapshots and the entry iteration a restore runs over them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pyflink_state::KeyedStateSnapshot;

fuzz_target!(|data: &[u8]| {
    if let Ok(snapshot) = KeyedStateSnapshot::decode(data) {
        for section in &snapshot.sections {
            // Walking the entries of every group must end in entries or errors.
            for entry in section.raw_entries(snapshot.range) {
                let _ = entry;
            }
            let _ = section.entries::<Vec<u8>, Vec<u8>>(snapshot.range);
        }
    }
});
