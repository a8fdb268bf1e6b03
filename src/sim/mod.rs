//! The deterministic world a cluster runs in, and the checks that watch it.
//!
//! - [`cluster`]: virtual time, network, crashes, restarts, partitions.
//! - [`clock`]: a node's clock, drifting off virtual time.
//! - [`causes`]: what each replica message was for.
//! - [`network`]: latency, drops, partitions and cut links.
//! - [`invariants`]: Raft's safety properties, checked after every event.
//! - [`linearizability`]: a per-key check of a client history.
//! - [`answers`]: every answer a client got, against what the stores applied.
//! - [`trace`]: what happened, as lines a person reads.
//! - [`chaos`]: random fault schedules with every check on, and the exam of
//!   the checks against the core's planted bugs.
//! - [`fuzzing`]: the bodies of the fuzz targets.
//!
//! Knows nothing of the course grader ([`crate::grader`]) or the page
//! ([`crate::playground`]): they drive a [`Cluster`] from outside.
//!
//! Everything here is deterministic: one seed, one run.

pub mod answers;
pub mod causes;
pub mod chaos;
pub mod clock;
pub mod cluster;
pub mod fuzzing;
pub mod invariants;
pub mod linearizability;
pub mod network;
pub mod trace;

pub use cluster::{Cluster, ClusterOptions, Delivered, GraderSocket, InFlight, Refused, Violation};
pub use network::Loss;
pub use trace::{TraceEvent, TraceKind};
