//! raftplay: one Raft core for a browser playground and a course replica.
//!
//! - [`raft`]: the sans-IO consensus core.
//! - [`kv`]: the key-value state machine and the rules for answering clients.
//! - [`wire`]: the course's JSON datagram format, to and from the core's types.
//! - [`pace`]: how fast a replica lets its datagrams out.
//! - [`sim`]: the deterministic world (virtual clock, network, faults) and
//!   its checks (invariants, linearizability, answers, trace).
//! - [`explore`]: a breadth-first search of every interleaving of the
//!   real core, for the shortest run that breaks a check.
//! - [`grader`]: the course grader's config, clients, faults and scoring.
//! - [`playground`]: the page's model, and its wasm-bindgen wrapper.
//!
//! Data flows one way: a driver (the replica's event loop, the simulator)
//! feeds the core and carries out what it returns.

pub mod explore;
pub mod grader;
pub mod kv;
pub mod pace;
pub mod playground;
pub mod raft;
pub mod sim;
pub mod wire;
