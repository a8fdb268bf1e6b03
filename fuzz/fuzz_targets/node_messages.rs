//! See `raftplay::sim::fuzzing::node_messages`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| raftplay::sim::fuzzing::node_messages(data));
