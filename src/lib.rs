//! raftplay: one Raft core for a browser playground and a course replica.
//!
//! - [`raft`]: the sans-IO consensus core.
//! - [`kv`]: the key-value state machine and the rules for answering clients.
//! - [`wire`]: the course's JSON datagram format, to and from the core's types.
//! - [`pace`]: how fast a replica lets its datagrams out.
//! - [`sim`]: a deterministic discrete-event simulator of a cluster, the
//!   course grader's workload and scoring, and safety checkers.

pub mod kv;
pub mod pace;
pub mod raft;
pub mod sim;
#[cfg(target_arch = "wasm32")]
pub mod wasm;
pub mod wire;
