//! A deterministic simulator of a replica cluster, the course grader's
//! workload and scoring, and the safety checks.
//!
//! - [`cluster`]: virtual time, network, crashes, restarts, partitions.
//! - [`grader`]: the grader's eight clients, its fault events and scoring.
//! - [`invariants`]: Raft's safety properties, checked after every event.
//! - [`linearizability`]: a per-key check of a client history.
//! - [`config`]: the grader's config format.
//!
//! Everything here is deterministic: one seed, one run.

pub mod answers;
pub mod chaos;
pub mod cluster;
pub mod config;
pub mod fuzzing;
pub mod grader;
pub mod invariants;
pub mod linearizability;
pub mod network;
pub mod playground;
pub mod trace;

pub use cluster::{Cluster, ClusterOptions, Delivered, GraderSocket, InFlight};
pub use network::Loss;
pub use trace::{TraceEvent, TraceKind};
