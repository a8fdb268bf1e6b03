//! Any datagram, decoded as the replica and the grader decode them: no
//! panic, and whatever decodes as a peer message encodes back to bytes that
//! decode to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use raftplay::wire::{self, Incoming};

fuzz_target!(|data: &[u8]| {
    let known = |p: u16| p < 5;
    if let Ok(Incoming::Peer { envelope }) = wire::decode_for_replica(data, 0, known) {
        let again = wire::encode_envelope(&envelope, None);
        match wire::decode_for_replica(&again, 0, known) {
            Ok(Incoming::Peer { envelope: back }) => assert_eq!(back, envelope),
            other => panic!("re-encoded message does not decode: {other:?}"),
        }
    }
    let _ = wire::header(data);
    let _ = wire::decode_response(data);
    let _ = wire::is_hello(data, 0);
});
