//! Fuzzes the decoder of a checkpoint's `_metadata`: any bytes give metadata or an error, never
//! a panic, a hang or a huge allocation; decoded metadata encodes back to bytes that decode equal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pyflink_state::checkpoint::CheckpointMetadata;

fuzz_target!(|data: &[u8]| {
    if let Ok(metadata) = CheckpointMetadata::decode(data) {
        let again = CheckpointMetadata::decode(&metadata.encode().expect("decoded metadata encodes"));
        assert_eq!(again.expect("re-encoded metadata decodes"), metadata);
    }
});
