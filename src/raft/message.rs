//! Messages between Raft nodes: an enum of the paper's RPCs inside an
//! envelope that carries sender, receiver and the sender's term.
//!
//! Plain data. How they travel (a simulated network, UDP datagrams as JSON,
//! wasm) is the caller's business; the core never serialises them.

use super::log::Entry;
use super::{Index, NodeId, Term, Time};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope<C> {
    pub from: NodeId,
    pub to: NodeId,
    /// The sender's current term, except for PreVote requests (the term the
    /// sender would stand in) and granted PreVote responses (that same term).
    pub term: Term,
    pub message: Message<C>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message<C> {
    /// Figure 2's AppendEntries RPC. An empty `entries` is a heartbeat.
    AppendEntries {
        prev_log_index: Index,
        prev_log_term: Term,
        entries: Vec<Entry<C>>,
        leader_commit: Index,
        /// The leader's clock when it sent this; echoed back so the leader
        /// knows how fresh each follower's acknowledgement is (lease reads,
        /// ReadIndex, CheckQuorum). Meaningful only to the leader.
        stamp: Time,
    },
    AppendEntriesResponse {
        /// On success, the index up to which the follower's log now matches
        /// the leader's. On failure, where the leader should retry (§5.3's
        /// optional optimisation): see `conflict_term`.
        index: Index,
        success: bool,
        /// On failure: the term of the follower's conflicting entry at
        /// `prev_log_index` (then `index` is the first index of that term), or
        /// `None` when the follower's log is too short (then `index` is its
        /// last index + 1).
        conflict_term: Option<Term>,
        stamp: Time,
    },
    /// RequestVote (§5.2), or a PreVote probe (thesis §9.6) that changes no
    /// state at the receiver.
    RequestVote {
        last_log_index: Index,
        last_log_term: Term,
        pre_vote: bool,
    },
    RequestVoteResponse {
        granted: bool,
        pre_vote: bool,
        /// The voter's commit index: a new leader uses the largest it hears to
        /// know which committed entries an earlier leader already answered.
        commit_index: Index,
    },
    /// Commands a former leader proposed whose entries were overwritten; it
    /// hands them to the current leader so that the clients still get an
    /// answer. The state machine applies a command at most once.
    Forward { commands: Vec<C> },
    /// A follower holding client requests asks its leader for a sign of
    /// life before sending clients to it; the leader answers at once with
    /// an AppendEntries.
    Probe,
    /// The leader's commit index, sent the moment it advances (with
    /// [`crate::raft::Config::commit_notice`]); not answered.
    Commit { index: Index },
}

impl<C> Message<C> {
    /// A short name, for traces and the playground.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::AppendEntries { entries, .. } if entries.is_empty() => "Heartbeat",
            Message::AppendEntries { .. } => "AppendEntries",
            Message::AppendEntriesResponse { .. } => "AppendEntriesResponse",
            Message::RequestVote { pre_vote: true, .. } => "PreVote",
            Message::RequestVote { .. } => "RequestVote",
            Message::RequestVoteResponse { pre_vote: true, .. } => "PreVoteResponse",
            Message::RequestVoteResponse { .. } => "RequestVoteResponse",
            Message::Forward { .. } => "Forward",
            Message::Probe => "Probe",
            Message::Commit { .. } => "Commit",
        }
    }
}
