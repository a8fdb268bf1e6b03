//! What each replica-to-replica message was for: the grader counts every
//! one (`total_msgs`), and this tells new entries from resent ones,
//! heartbeats, elections and the rest, so that a run's traffic can be set
//! against its floor. The simulator classifies what its replicas send;
//! `gradesim udp` classifies what real replicas send, decoded from the
//! wire. Knows the core's messages, nothing of sockets or the grader.

use crate::kv::Put;
use crate::raft::{Envelope, Index, Message, NodeId, Term};
use std::collections::BTreeMap;

/// What a replica-to-replica message was for (the grader counts them all).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// AppendEntries carrying entries this leader had not sent this
    /// follower before.
    NewEntries,
    /// AppendEntries carrying entries sent before (after a loss, a
    /// timeout, or a rejection).
    Resent,
    Heartbeat,
    AppendReply,
    /// RequestVote, PreVote and their answers.
    Election,
    Probe,
    Forward,
    CommitNotice,
    /// Not this project's protocol (a replica of another design, seen
    /// over UDP).
    Other,
}

impl Cause {
    pub const ALL: [Cause; 9] = [
        Cause::NewEntries,
        Cause::Resent,
        Cause::Heartbeat,
        Cause::AppendReply,
        Cause::Election,
        Cause::Probe,
        Cause::Forward,
        Cause::CommitNotice,
        Cause::Other,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Cause::NewEntries => "new entries",
            Cause::Resent => "resent entries",
            Cause::Heartbeat => "heartbeats",
            Cause::AppendReply => "append replies",
            Cause::Election => "elections",
            Cause::Probe => "probes",
            Cause::Forward => "forwards",
            Cause::CommitNotice => "commit notices",
            Cause::Other => "other",
        }
    }
}

/// Classifies messages in send order.
#[derive(Clone, Debug, Default)]
pub struct Causes {
    /// Per (leader, follower, term): the last index sent, to tell new
    /// entries from resent ones.
    sent_upto: BTreeMap<(NodeId, NodeId, Term), Index>,
}

impl Causes {
    /// What `envelope` is for.
    pub fn classify(&mut self, envelope: &Envelope<Put>) -> Cause {
        match &envelope.message {
            Message::AppendEntries(a) if a.entries.is_empty() => Cause::Heartbeat,
            Message::AppendEntries(a) => {
                let last = a.prev_log_index + a.entries.len() as Index;
                let key = (envelope.from, envelope.to, envelope.term);
                let upto = self.sent_upto.entry(key).or_insert(0);
                let fresh = last > *upto;
                *upto = (*upto).max(last);
                if fresh {
                    Cause::NewEntries
                } else {
                    Cause::Resent
                }
            }
            Message::AppendEntriesResponse(_) => Cause::AppendReply,
            Message::RequestVote(_) | Message::RequestVoteResponse(_) => Cause::Election,
            Message::Probe => Cause::Probe,
            Message::Forward { .. } => Cause::Forward,
            Message::Commit { .. } => Cause::CommitNotice,
        }
    }
}
