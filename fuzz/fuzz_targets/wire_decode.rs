//! See `raftplay::sim::fuzzing::wire_decode`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| raftplay::sim::fuzzing::wire_decode(data));
