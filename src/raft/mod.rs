//! The Raft consensus core, sans IO.
//!
//! Raft keeps a log of commands identical on a majority of nodes and applies
//! it, in order, to a state machine on every node. Time is split into
//! *terms*, each with at most one *leader*. A follower that hears nothing from
//! a leader for a randomized *election timeout* becomes a candidate, asks the
//! others for their vote in a new term (RequestVote), and leads once a
//! majority grants it (§5.2). Voters only grant to candidates whose log is at
//! least as up-to-date as their own (§5.4.1), so every leader holds every
//! committed entry. The leader appends client commands to its log and sends
//! them with AppendEntries; a follower accepts only entries that follow one it
//! already has with the same index and term, and deletes any conflicting
//! suffix (§5.3), which makes logs match wherever they share an entry. An
//! entry is *committed* once stored on a majority, but a leader only counts
//! replicas for entries of its own term (§5.4.2); a new leader therefore
//! appends a no-op at once.
//!
//! Beyond the paper's Figure 2 this core has: PreVote (a would-be candidate
//! first asks whether it could win, so a node that was cut off does not bump
//! everyone's term on return), CheckQuorum (a leader that no longer hears from
//! a majority steps down), vote stickiness (a node that heard from a leader
//! within the minimum election timeout ignores candidates), reads without log
//! entries (a lease or ReadIndex, see [`ReadMode`]; `ReadMode::Log` keeps the
//! paper's reads through the log), replication that batches entries, sends
//! new ones only to a majority's worth of followers at once (one more while
//! many go unanswered) and backs up quickly on conflicts, and hand-over of
//! commands that a deposed leader proposed but could not commit (sent again
//! until they come back).
//! Proposals and read rounds wait for the next [`Node::tick`], which
//! [`Node::next_deadline`] makes due at once, so a caller that steps a batch
//! of requests before ticking sends one AppendEntries per follower for all of
//! them. A follower never replaces an entry it knows is committed, whoever
//! asks; no node votes, itself included, within a minimum election timeout of
//! hearing from a leader (the lease rests on it).
//!
//! The deliberately broken variants of [`Bug`] (tests and the playground
//! only) each turn off one of these rules.
//!
//! The module owns the protocol and nothing else. It has no clock (every input
//! carries `now`), no socket (outputs are returned), no thread and no global
//! randomness (each node owns a seeded RNG). The same inputs give the same
//! outputs on every platform. The state machine is a parameter
//! ([`StateMachine`]); the key-value store lives in [`crate::kv`].

mod config;
mod log;
mod message;
mod node;
mod progress;
pub mod quorum;
pub mod reason;
pub mod time;

pub use config::{Bug, CommitNotice, Config, Fanout, ReadMode, by_name};
pub use log::{Entry, Log};
pub use message::{
    AppendEntries, AppendEntriesResponse, AppendOutcome, Envelope, Message, MessageKind,
    RequestVote, RequestVoteResponse,
};
pub use node::{Node, NotLeader, Output, Persistent, RoleKind};
pub use progress::Progress;
pub use reason::{Denial, Position, ReadPath, Reason, Rejection, StepDown};

/// A node's identity. Replicas of the course grader are numbered from 0.
pub type NodeId = u16;
/// An election term (§5.1).
pub type Term = u64;
/// A position in the log, from 1; 0 means "before the first entry".
pub type Index = u64;
pub use time::Time;

/// What the log drives. Commands are replicated; queries are answered by the
/// leader from the applied state without a log entry.
pub trait StateMachine {
    type Command: Clone + std::fmt::Debug + PartialEq + std::hash::Hash;
    type Query: std::fmt::Debug + Clone;
    type Reply: std::fmt::Debug + Clone;

    /// Applies a committed command. `None` when there is nothing to answer
    /// (for example a command applied before under the same request id).
    fn apply(&mut self, command: &Self::Command) -> Option<Self::Reply>;

    fn query(&self, query: &Self::Query) -> Self::Reply;

    /// Whether `command` was applied already (so proposing it again would
    /// only add an entry that does nothing). `false` if it cannot tell.
    fn applied(&self, _command: &Self::Command) -> bool {
        false
    }

    /// Roughly how many bytes a command takes on the wire, to keep one
    /// AppendEntries within [`Config::max_append_bytes`].
    fn command_size(_command: &Self::Command) -> usize {
        1
    }
}
