//! Messages between Raft nodes: an enum of the paper's RPCs, each with its
//! payload struct, inside an envelope that carries sender, receiver and the
//! sender's term.
//!
//! Plain data. How they travel (a simulated network, UDP datagrams as JSON,
//! wasm) is the caller's business; the core never serialises them (only
//! [`MessageKind`], a name, derives serde, for the page's views).

use super::log::Entry;
use super::{Index, NodeId, Term, Time};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Envelope<C> {
    pub from: NodeId,
    pub to: NodeId,
    /// The sender's current term, except for PreVote requests (the term the
    /// sender would stand in) and granted PreVote responses (that same term).
    pub term: Term,
    pub message: Message<C>,
}

/// Figure 2's AppendEntries RPC. An empty `entries` is a heartbeat.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AppendEntries<C> {
    pub prev_log_index: Index,
    pub prev_log_term: Term,
    pub entries: Vec<Entry<C>>,
    pub leader_commit: Index,
    /// The leader's clock when it sent this; echoed back so the leader
    /// knows how fresh each follower's acknowledgement is (lease reads,
    /// ReadIndex, CheckQuorum). Meaningful only to the leader.
    pub stamp: Time,
}

/// The answer to an [`AppendEntries`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AppendEntriesResponse {
    pub outcome: AppendOutcome,
    /// The request's `stamp`, echoed.
    pub stamp: Time,
}

/// What a follower made of an [`AppendEntries`] (Figure 2's `success`, with
/// the hint of §5.3's optional optimisation when it is false).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AppendOutcome {
    /// The consistency check passed: the follower's log now matches the
    /// leader's up to `index`.
    Matched { index: Index },
    /// The follower holds an entry of `term` at `prev_log_index`, not the
    /// leader's; `first_index` is the first index of that term in its log,
    /// so the leader can skip the whole term at once.
    Conflict { term: Term, first_index: Index },
    /// The follower's log ends before `prev_log_index`: retry from
    /// `next_index`, its last index + 1.
    LogTooShort { next_index: Index },
    /// Refused without a look at the log: the leader's term is stale (then
    /// `next_index` is 0 and the reply's newer term deposes the leader), or
    /// the entries would overwrite what this follower knows is committed
    /// (retry from `next_index`, after its commit index).
    Refused { next_index: Index },
}

impl AppendOutcome {
    pub fn is_match(self) -> bool {
        matches!(self, AppendOutcome::Matched { .. })
    }
}

/// RequestVote (§5.2), or a PreVote probe (thesis §9.6) that changes no
/// state at the receiver.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RequestVote {
    pub last_log_index: Index,
    pub last_log_term: Term,
    pub pre_vote: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RequestVoteResponse {
    pub granted: bool,
    pub pre_vote: bool,
    /// The voter's commit index: a new leader uses the largest it hears to
    /// know which committed entries an earlier leader already answered.
    pub commit_index: Index,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Message<C> {
    AppendEntries(AppendEntries<C>),
    AppendEntriesResponse(AppendEntriesResponse),
    RequestVote(RequestVote),
    RequestVoteResponse(RequestVoteResponse),
    /// Commands a former leader proposed whose entries were overwritten; it
    /// hands them to the current leader so that the clients still get an
    /// answer. The state machine applies a command at most once.
    Forward {
        commands: Vec<C>,
    },
    /// A follower holding client requests asks its leader for a sign of
    /// life before sending clients to it; the leader answers at once with
    /// an AppendEntries.
    Probe,
    /// The leader's commit index, sent the moment it advances (with
    /// [`crate::raft::Config::commit_notice`]); not answered.
    Commit {
        index: Index,
    },
}

/// Every kind of message, one name each: the trace, the playground's views
/// and the page's legend all use these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum MessageKind {
    Heartbeat,
    AppendEntries,
    AppendEntriesResponse,
    PreVote,
    RequestVote,
    PreVoteResponse,
    RequestVoteResponse,
    Forward,
    Probe,
    Commit,
}

impl MessageKind {
    pub const ALL: [MessageKind; 10] = [
        MessageKind::Heartbeat,
        MessageKind::AppendEntries,
        MessageKind::AppendEntriesResponse,
        MessageKind::PreVote,
        MessageKind::RequestVote,
        MessageKind::PreVoteResponse,
        MessageKind::RequestVoteResponse,
        MessageKind::Forward,
        MessageKind::Probe,
        MessageKind::Commit,
    ];

    pub fn name(self) -> &'static str {
        match self {
            MessageKind::Heartbeat => "Heartbeat",
            MessageKind::AppendEntries => "AppendEntries",
            MessageKind::AppendEntriesResponse => "AppendEntriesResponse",
            MessageKind::PreVote => "PreVote",
            MessageKind::RequestVote => "RequestVote",
            MessageKind::PreVoteResponse => "PreVoteResponse",
            MessageKind::RequestVoteResponse => "RequestVoteResponse",
            MessageKind::Forward => "Forward",
            MessageKind::Probe => "Probe",
            MessageKind::Commit => "Commit",
        }
    }
}

impl<C> Message<C> {
    /// What a glyph shows besides the kind: how many entries (or forwarded
    /// commands) it carries, and for an answer whether it matched or
    /// granted (true for the rest).
    pub fn glyph(&self) -> (usize, bool) {
        match self {
            Message::AppendEntries(a) => (a.entries.len(), true),
            Message::AppendEntriesResponse(r) => (0, r.outcome.is_match()),
            Message::RequestVoteResponse(r) => (0, r.granted),
            Message::Forward { commands } => (commands.len(), true),
            Message::RequestVote(_) | Message::Probe | Message::Commit { .. } => (0, true),
        }
    }

    pub fn kind(&self) -> MessageKind {
        match self {
            Message::AppendEntries(a) if a.entries.is_empty() => MessageKind::Heartbeat,
            Message::AppendEntries(_) => MessageKind::AppendEntries,
            Message::AppendEntriesResponse(_) => MessageKind::AppendEntriesResponse,
            Message::RequestVote(r) if r.pre_vote => MessageKind::PreVote,
            Message::RequestVote(_) => MessageKind::RequestVote,
            Message::RequestVoteResponse(r) if r.pre_vote => MessageKind::PreVoteResponse,
            Message::RequestVoteResponse(_) => MessageKind::RequestVoteResponse,
            Message::Forward { .. } => MessageKind::Forward,
            Message::Probe => MessageKind::Probe,
            Message::Commit { .. } => MessageKind::Commit,
        }
    }
}
