//! Why a node did what it did, as data: a vote granted or denied, an
//! AppendEntries accepted or rejected, entries truncated, a commit advanced
//! or held back, a step-down, a read served.
//!
//! The core only says *which* rule decided, with the numbers that decided
//! it; the sentence a person reads is written once, from this data, by the
//! simulator's trace (`sim::trace`), and the page, the scripted tests and
//! `gradesim sim --trace` all print that sentence. A node reports reasons
//! only when its [`crate::raft::Config::explain`] is on: the replica never
//! pays for them.

use super::{Index, NodeId, Term, Time};

/// A log position: `index@term` in the trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub index: Index,
    pub term: Term,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// A (pre-)vote granted to `candidate` for `term`.
    VoteGranted {
        candidate: NodeId,
        term: Term,
        pre_vote: bool,
    },
    VoteDenied {
        candidate: NodeId,
        term: Term,
        pre_vote: bool,
        why: Denial,
    },
    /// An AppendEntries from `leader` passed the consistency check; this
    /// log now matches the leader's up to `matched`.
    AppendAccepted {
        leader: NodeId,
        matched: Index,
    },
    AppendRejected {
        leader: NodeId,
        why: Rejection,
    },
    /// Beyond the paper (`Config::forward`): this node, a leader once,
    /// dropped `commands` commands of its own terms; it hands them over to
    /// `leader` (if it knows one yet), so that their clients are answered.
    HandedOver {
        leader: Option<NodeId>,
        commands: usize,
    },
    /// Beyond the paper: this leader appends `commands` commands that
    /// `from` handed over (the rest were applied or in its log already).
    TookOver {
        from: NodeId,
        commands: usize,
    },
    /// Entries `from..=to` were dropped: they conflicted with the leader's
    /// (§5.3). `terms` are the terms they had.
    Truncated {
        leader: NodeId,
        from: Index,
        to: Index,
        terms: Vec<Term>,
    },
    /// The leader committed up to `index`: `holders` (itself included) hold
    /// it, and it is of the current term (§5.4.2); `entry_term` is its
    /// term, which only a broken core (the planted `commit_old_terms`)
    /// lets differ from the current one, and the sentence then says so.
    CommitAdvanced {
        index: Index,
        holders: Vec<NodeId>,
        entry_term: Term,
        term: Term,
    },
    /// A majority holds `index`, but it is of an earlier term (`entry_term`):
    /// not committed by counting (§5.4.2).
    CommitHeldBack {
        index: Index,
        entry_term: Term,
        term: Term,
    },
    SteppedDown {
        why: StepDown,
    },
    /// A read answered from the applied state.
    ReadServed {
        via: ReadPath,
    },
}

/// Why a (pre-)vote was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denial {
    /// The candidate's term is not newer than this node's (§5.1).
    StaleTerm { ours: Term },
    /// This node already voted for another in this term (§5.2).
    AlreadyVoted { voted_for: NodeId },
    /// The candidate's log is behind this node's (§5.4.1).
    LogBehind { theirs: Position, ours: Position },
    /// This node heard from a leader less than a minimum election timeout
    /// ago, until `until` (thesis §4.2.3); `since_start`: it has heard no
    /// leader since it started, and waits that long after its start (a
    /// leader it acknowledged before a crash may still hold a lease).
    VoteGuard { until: Time, since_start: bool },
    /// This node leads the term.
    Leading,
}

/// Why an AppendEntries was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// The sender's term is older than this node's (Figure 2, step 1).
    StaleTerm { ours: Term },
    /// No entry at `prev_log_index`: the log ends at `last` (§5.3).
    NoEntry { index: Index, last: Index },
    /// The entry at `index` has term `ours`, the leader's has `theirs`
    /// (§5.3).
    TermMismatch {
        index: Index,
        ours: Term,
        theirs: Term,
    },
    /// The entries would replace what this node knows is committed, up to
    /// `commit` (Leader Completeness, §5.4).
    WouldOverwriteCommitted { commit: Index },
}

/// Why a leader stopped leading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepDown {
    /// A message from `from` carried the newer `term` (§5.1).
    HigherTerm { from: NodeId, term: Term },
    /// No majority acknowledged anything for an election timeout
    /// (CheckQuorum, thesis §6.2).
    LostQuorum,
}

/// How a read was confirmed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadPath {
    /// The lease (until this time on the leader's clock) still held
    /// (thesis §6.4.1).
    Lease { until: Time },
    /// A majority acknowledged a heartbeat sent after the read arrived
    /// (ReadIndex, thesis §6.4).
    ReadIndex,
    /// The read's own log entry, at this index, committed (§8).
    Log { index: Index },
}

impl Reason {
    /// Where in the paper (or the thesis) the rule is.
    pub fn section(&self) -> &'static str {
        match self {
            Reason::VoteGranted { pre_vote: true, .. } => "thesis §9.6",
            Reason::VoteGranted { .. } => "§5.2",
            Reason::VoteDenied { why, .. } => why.section(),
            Reason::AppendAccepted { .. } | Reason::Truncated { .. } => "§5.3",
            Reason::AppendRejected { why, .. } => why.section(),
            Reason::CommitAdvanced { .. } | Reason::CommitHeldBack { .. } => "§5.4.2",
            Reason::SteppedDown {
                why: StepDown::HigherTerm { .. },
            } => "§5.1",
            Reason::SteppedDown {
                why: StepDown::LostQuorum,
            } => "thesis §6.2",
            Reason::ReadServed {
                via: ReadPath::Lease { .. },
            } => "thesis §6.4.1",
            Reason::ReadServed {
                via: ReadPath::ReadIndex,
            } => "thesis §6.4",
            Reason::ReadServed {
                via: ReadPath::Log { .. },
            } => "§8",
            Reason::HandedOver { .. } | Reason::TookOver { .. } => {
                "Forward, beyond the paper; off in the paper preset"
            }
        }
    }
}

impl Denial {
    pub fn section(&self) -> &'static str {
        match self {
            Denial::StaleTerm { .. } => "§5.1",
            Denial::AlreadyVoted { .. } => "§5.2",
            Denial::LogBehind { .. } => "§5.4.1",
            Denial::VoteGuard { .. } | Denial::Leading => "thesis §4.2.3",
        }
    }
}

impl Rejection {
    pub fn section(&self) -> &'static str {
        match self {
            Rejection::StaleTerm { .. } => "Figure 2, AppendEntries 1",
            Rejection::NoEntry { .. } | Rejection::TermMismatch { .. } => "§5.3",
            Rejection::WouldOverwriteCommitted { .. } => "§5.4",
        }
    }
}
