//! The course grader, as `PROTOCOL.md` describes it.
//!
//! - [`config`]: its test configuration format, read and checked.
//! - [`workload`]: its eight clients, their tallies and the client history.
//! - [`faults`]: who it believes leads, and its kill and partition events.
//! - [`score`]: its correctness table, metrics and tiers.
//! - [`run`]: one config run on the simulator ([`crate::sim::Cluster`]).
//! - [`diagnose`]: what a recorded run shows on the wire, with its moment.
//!
//! `gradesim udp` drives the same workload and faults over real processes.
//! The grader only sees what crosses the wire: it never reads a node's state.

pub mod config;
pub mod diagnose;
pub mod faults;
pub mod run;
pub mod score;
pub mod workload;

pub use config::{FaultKind, GraderConfig};
pub use faults::{BelievedLeader, FaultTarget, apply_fault};
pub use run::{Live, Outcome, SimOptions, SimRun, run_sim};
pub use score::{Check, Metric, Score, Tier, course_median, failure_rate, median};
pub use workload::Workload;
