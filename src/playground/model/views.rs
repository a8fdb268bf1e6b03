//! What the page reads of a run: the views it draws (nodes, logs as they
//! change, messages in flight or waiting, cut links, the client's history,
//! the lights) and the events list in plain sentences.
//!
//! Owns the views and the events list; reads the cluster, never changes it.

use super::{Playground, checks};

use super::checks::{HistoryOp, LightView};
use crate::raft::time::{self, Time};
use crate::raft::{MessageKind, NodeId, Reason, RoleKind, Term};
use crate::sim::TraceKind;
use crate::sim::trace::describe;
use crate::sim::{Cluster, Loss};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProgressView {
    pub peer: NodeId,
    pub next: u64,
    pub matched: u64,
}

/// What the page draws of a node (its log comes apart, see [`LogChange`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeView {
    pub id: NodeId,
    pub alive: bool,
    /// `None` while crashed.
    pub role: Option<RoleKind>,
    pub term: Term,
    pub voted_for: Option<NodeId>,
    pub leader: Option<NodeId>,
    pub commit: u64,
    /// False for a restarted node that has not yet heard a commit index:
    /// it is volatile, lost in the crash (the entries are not).
    pub commit_known: bool,
    pub log_len: u64,
    /// When its election timer fires, ms (followers and candidates).
    pub election_deadline_ms: f64,
    /// Client requests it holds until it learns of a leader.
    pub held: usize,
    /// While the vote guard holds (thesis §4.2.3): until when, ms. A
    /// forced timeout waits for it.
    pub vote_guard_ms: Option<f64>,
    pub progress: Vec<ProgressView>,
}

/// New or rewritten log entries of one node: entries from index `from`
/// (1-based) replace everything from there on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogChange {
    pub node: NodeId,
    pub from: u64,
    pub terms: Vec<Term>,
    /// For each entry: the key it writes, or "" for a no-op.
    pub keys: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MessageView {
    pub from: NodeId,
    pub to: NodeId,
    pub sent_ms: f64,
    pub arrives_ms: f64,
    pub kind: MessageKind,
    /// The sender's term (as the message carries it).
    pub term: Term,
    pub entries: usize,
    /// For replies: granted or matched.
    pub ok: bool,
    /// Why it will not arrive; `None` if it will.
    pub lost: Option<Loss>,
    /// The message as the trace names it, with its fields.
    pub text: String,
    /// In explore mode: its place among the waiting messages (what
    /// [`Action::Choose`] names it by). Its times then only place it on
    /// its link: the oldest nearest the receiver.
    pub held: Option<usize>,
}

impl MessageView {
    fn of(
        e: &crate::raft::Envelope<crate::kv::Put>,
        (sent_ms, arrives_ms): (f64, f64),
        lost: Option<Loss>,
        held: Option<usize>,
    ) -> MessageView {
        let (entries, ok) = e.message.glyph();
        MessageView {
            from: e.from,
            to: e.to,
            sent_ms,
            arrives_ms,
            kind: e.message.kind(),
            term: e.term,
            entries,
            ok,
            lost,
            text: describe(&e.message),
            held,
        }
    }
}

/// What an event is about, for the page's filters and colours.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventCategory {
    /// Timeouts, votes and why, new roles and terms, step-downs.
    Election,
    /// AppendEntries accepted or rejected and why, truncations.
    Replication,
    /// Commits and commits held back, and why.
    Commit,
    /// Requests, answers, reads served.
    Client,
    /// Lost messages, crashes, restarts, partitions, cut links, heals,
    /// clocks that drift.
    Network,
    /// A safety property broken.
    Safety,
}

impl EventCategory {
    fn of(kind: &TraceKind) -> Option<EventCategory> {
        Some(match kind {
            TraceKind::Send { .. } | TraceKind::Deliver { .. } => return None,
            TraceKind::Lost { .. }
            | TraceKind::Crash { .. }
            | TraceKind::Restart { .. }
            | TraceKind::Partition { .. }
            | TraceKind::Cut { .. }
            | TraceKind::Clock { .. }
            | TraceKind::Heal => EventCategory::Network,
            TraceKind::Request { .. } | TraceKind::Response { .. } => EventCategory::Client,
            TraceKind::Role { .. } => EventCategory::Election,
            TraceKind::Commit { .. } => EventCategory::Commit,
            TraceKind::Reason { reason, .. } => match reason {
                Reason::VoteGranted { .. } | Reason::VoteDenied { .. } => EventCategory::Election,
                Reason::SteppedDown { .. } => EventCategory::Election,
                Reason::AppendAccepted { .. }
                | Reason::AppendRejected { .. }
                | Reason::Truncated { .. }
                | Reason::HandedOver { .. }
                | Reason::TookOver { .. } => EventCategory::Replication,
                Reason::CommitAdvanced { .. } | Reason::CommitHeldBack { .. } => {
                    EventCategory::Commit
                }
                Reason::ReadServed { .. } => EventCategory::Client,
            },
        })
    }
}

/// The node an event is about, if one (for selecting it on a click).
fn subject(kind: &TraceKind) -> Option<NodeId> {
    match kind {
        TraceKind::Role { node, .. }
        | TraceKind::Commit { node, .. }
        | TraceKind::Crash { node }
        | TraceKind::Restart { node }
        | TraceKind::Clock { node, .. }
        | TraceKind::Reason { node, .. } => Some(*node),
        TraceKind::Request { to, .. } => Some(*to),
        TraceKind::Response { from, .. } => Some(*from),
        TraceKind::Lost { envelope, .. } => Some(envelope.to),
        TraceKind::Send { envelope, .. } | TraceKind::Deliver { envelope } => Some(envelope.to),
        TraceKind::Cut { from, .. } => Some(*from),
        TraceKind::Partition { .. } | TraceKind::Heal => None,
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventView {
    pub time_ms: f64,
    pub text: String,
    pub category: EventCategory,
    /// The node it is about, if one.
    pub node: Option<NodeId>,
}

impl Playground {
    pub fn nodes(&self) -> Vec<NodeView> {
        node_views(&self.cluster)
    }
    /// Log entries that changed since the last call, per node. The first
    /// call returns every log whole; later calls only what is new or
    /// rewritten, so the cost stays small as logs grow.
    pub fn log_changes(&mut self) -> Vec<LogChange> {
        let mut changes = Vec::new();
        for id in 0..self.options.nodes as NodeId {
            let log = &self.cluster.persistent(id).expect("a slot per node").log;
            let mirror = &mut self.mirrors[id as usize];
            let same = mirror
                .iter()
                .zip(log.iter())
                .take_while(|(t, e)| **t == e.term)
                .count();
            if same == mirror.len() && same as u64 == log.last_index() {
                continue;
            }
            mirror.truncate(same);
            let fresh = log.slice(same as u64 + 1, log.last_index());
            mirror.extend(fresh.iter().map(|e| e.term));
            changes.push(LogChange {
                node: id,
                from: same as u64 + 1,
                terms: fresh.iter().map(|e| e.term).collect(),
                keys: fresh
                    .iter()
                    .map(|e| {
                        e.command
                            .as_ref()
                            .map_or(String::new(), |p| format!("{}={}", p.key, p.value))
                    })
                    .collect(),
            });
        }
        changes
    }
    /// Forgets what [`Playground::log_changes`] sent, so the next call sends
    /// whole logs (after the page lost its copy).
    pub fn resend_logs(&mut self) {
        self.mirrors.iter_mut().for_each(Vec::clear);
    }
    /// The safety lights (see [`checks::lights`]).
    pub fn lights(&self) -> Vec<LightView> {
        let c = &self.cluster;
        checks::lights(c.violations(), &self.history)
    }
    /// The client's operations, oldest first.
    pub fn history(&self) -> &[HistoryOp] {
        self.history.ops()
    }
    /// The operations a window of the timeline from `since` shows, and the
    /// key whose history broke, if one.
    pub fn history_since(&self, since: Time) -> (Vec<HistoryOp>, Option<String>) {
        (self.history.since(since), self.history.broken_key())
    }
    /// The key-value map a node has applied.
    pub fn kv(&self, node: NodeId) -> Vec<(String, String)> {
        self.cluster.node(node).map_or_else(Vec::new, |n| {
            let data = n.state_machine().data();
            data.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
        })
    }
    pub fn messages(&self) -> Vec<MessageView> {
        if self.exploring() {
            return self.held_messages();
        }
        flight_views(&self.cluster)
    }
    /// The messages waiting in explore mode, spread along their links: the
    /// oldest on a link nearest its receiver.
    pub(super) fn held_messages(&self) -> Vec<MessageView> {
        let held = self.cluster.held();
        let now = time::as_millis(self.now());
        let mut on_link: std::collections::BTreeMap<(NodeId, NodeId), usize> = Default::default();
        for e in held {
            *on_link.entry((e.from, e.to)).or_default() += 1;
        }
        let mut older: std::collections::BTreeMap<(NodeId, NodeId), usize> = Default::default();
        held.iter()
            .enumerate()
            .map(|(i, e)| {
                let count = on_link[&(e.from, e.to)];
                let before = older.entry((e.from, e.to)).or_default();
                // The share of the link behind it, in (0, 1).
                let along = (count - *before) as f64 / (count + 1) as f64;
                *before += 1;
                MessageView::of(e, (now - along, now + 1.0 - along), None, Some(i))
            })
            .collect()
    }
    /// Links that are cut, as `(from, to)` pairs.
    pub fn cuts(&self) -> Vec<(NodeId, NodeId)> {
        let n = self.options.nodes as NodeId;
        let network = self.cluster.network();
        (0..n)
            .flat_map(|a| (0..n).map(move |b| (a, b)))
            .filter(|&(a, b)| a != b && network.blocked(a, b))
            .collect()
    }
    /// Events since the last call, oldest first, in plain language.
    pub fn events(&mut self) -> Vec<EventView> {
        let skip = self.events.len().saturating_sub(self.unread);
        self.unread = 0;
        self.events.iter().skip(skip).cloned().collect()
    }
    /// The latest events (at most a few hundred), whether read or not.
    pub fn recent_events(&self) -> Vec<EventView> {
        self.events.iter().cloned().collect()
    }
    pub(super) fn collect_events(&mut self) {
        for e in self.cluster.take_trace() {
            let Some(category) = EventCategory::of(&e.kind) else {
                continue;
            };
            let text = e.kind.to_string();
            self.push_event(e.time, &text, category, subject(&e.kind));
        }
        let fresh: Vec<String> = self.cluster.violations()[self.violations_reported..]
            .iter()
            .map(|v| format!("SAFETY VIOLATION: {v}"))
            .collect();
        self.violations_reported += fresh.len();
        for text in fresh {
            self.push_event(self.now(), &text, EventCategory::Safety, None);
        }
    }
    pub(super) fn push_event(
        &mut self,
        time: Time,
        text: &str,
        category: EventCategory,
        node: Option<NodeId>,
    ) {
        if self.events.len() >= self.event_limit {
            self.events.pop_front();
        }
        self.events.push_back(EventView {
            time_ms: time::as_millis(time),
            text: text.to_string(),
            category,
            node,
        });
        self.unread = (self.unread + 1).min(self.event_limit);
    }
}

/// What the page draws of each node of `cluster` (the playground's, or
/// the course grader's run on the page).
pub fn node_views(cluster: &Cluster) -> Vec<NodeView> {
    (0..cluster.len() as NodeId)
        .map(|id| match cluster.server(id) {
            Some(server) => {
                let n = server.node();
                let progress = n.progress().into_iter();
                NodeView {
                    id,
                    alive: true,
                    role: Some(n.role()),
                    term: n.term(),
                    voted_for: n.voted_for(),
                    leader: n.leader(),
                    commit: n.commit_index(),
                    commit_known: n.commit_index() > 0
                        || n.log().last_index() == 0
                        || cluster.restarts(id) == 0,
                    log_len: n.log().last_index(),
                    election_deadline_ms: time::as_millis(n.election_deadline()),
                    held: server.held(),
                    vote_guard_ms: n.vote_guard(cluster.now()).map(time::as_millis),
                    progress: progress
                        .map(|(peer, next, matched)| ProgressView {
                            peer,
                            next,
                            matched,
                        })
                        .collect(),
                }
            }
            None => {
                let p = cluster.persistent(id).expect("a slot per node");
                NodeView {
                    id,
                    alive: false,
                    role: None,
                    term: p.current_term,
                    voted_for: p.voted_for,
                    leader: None,
                    commit: 0,
                    commit_known: false,
                    log_len: p.log.last_index(),
                    election_deadline_ms: 0.0,
                    held: 0,
                    vote_guard_ms: None,
                    progress: Vec::new(),
                }
            }
        })
        .collect()
}

/// The messages in flight in `cluster`, as the page draws them.
pub fn flight_views(cluster: &Cluster) -> Vec<MessageView> {
    cluster
        .in_flight()
        .into_iter()
        .map(|m| {
            let times = (time::as_millis(m.sent), time::as_millis(m.arrives));
            MessageView::of(m.envelope, times, m.loss, None)
        })
        .collect()
}
