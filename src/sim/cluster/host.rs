//! A node hosted in the world: booted (or restarted) with its persistent
//! state and its own clock, handed a message or a tick, and what it
//! outputs traced, checked and dispatched.
//!
//! Owns the boundary between the world and one node; the node's rules
//! are the core's.

use super::Cluster;
use crate::kv::{Outgoing, Put, Server, Store};
use crate::raft::{Envelope, Index, Message, Node, NodeId, Reason, RoleKind, Time};
use crate::sim::invariants::{Breach, Property};
use crate::sim::network::Loss;
use crate::sim::trace::{Name, TraceKind};

impl Cluster {
    pub(super) fn boot(&mut self, id: NodeId) {
        let peers: Vec<NodeId> = (0..self.len() as NodeId).collect();
        let now = self.local_time(id, self.now);
        let slot = &mut self.slots[id as usize];
        slot.incarnation += 1;
        slot.timer_reset = now;
        slot.timeouts_seen = 0;
        // Each incarnation of a node draws new timeouts (the golden ratio
        // spreads consecutive incarnations over all the bits).
        let seed = self.options.seed ^ slot.incarnation.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let saved = std::mem::take(&mut slot.saved);
        let (term, vote, entries) = (saved.current_term, saved.voted_for, saved.log.last_index());
        let config = self.options.raft.clone();
        let node = Node::restart(id, &peers, config, seed, now, Store::default(), saved);
        // Figure 2: currentTerm, votedFor and the log survive a crash.
        let kept = (node.term(), node.voted_for(), node.log().last_index());
        slot.server = Some(Server::new(node));
        if self.invariants.is_some() && kept != (term, vote, entries) {
            let name = |v: Option<NodeId>| v.map_or("none".to_string(), |v| Name(v).to_string());
            self.violate(Breach::new(Property::PersistentState, format!(
                "S{} restarted with term {}, vote {} and {} entries, but crashed with term {term}, vote {} and {entries} entries",
                id + 1,
                kept.0,
                name(kept.1),
                kept.2,
                name(vote)
            )));
        }
        self.schedule_tick(id);
    }
    pub(super) fn deliver(&mut self, envelope: Envelope<Put>, loss: Option<Loss>) {
        let to = envelope.to;
        let loss = loss.or((!self.is_alive(to)).then_some(Loss::Dead));
        if let Some(loss) = loss {
            self.stats.lost += 1;
            self.record(TraceKind::Lost { envelope, loss });
            return;
        }
        if self.options.trace {
            self.record(TraceKind::Deliver {
                envelope: envelope.clone(),
            });
        }
        let heartbeat = matches!(envelope.message, Message::AppendEntries { .. })
            .then_some((envelope.from, envelope.term));
        let receiver_term = self.node(to).map_or(0, |n| n.term());
        self.stale_append = heartbeat.filter(|&(_, term)| term < receiver_term);
        self.with_server(to, |s, now| s.step(now, envelope));
        self.stale_append = None;
        // Figure 2: an AppendEntries from the current leader restarts the
        // election timer.
        let node = self.node(to);
        let accepted = heartbeat.filter(|&(from, term)| {
            node.is_some_and(|n| n.leader() == Some(from) && n.term() == term)
        });
        if accepted.is_some() {
            self.slots[to as usize].timer_reset = self.local_time(to, self.now);
        }
    }
    /// Runs `f` on a live server, then handles what it asks for, traces
    /// what changed and checks the safety properties.
    pub(super) fn with_server(&mut self, id: NodeId, f: impl FnOnce(&mut Server, Time)) {
        let now = self.local_time(id, self.now);
        let Some(server) = self.slots[id as usize].server.as_mut() else {
            return;
        };
        let node = server.node();
        let before = (node.role(), node.term(), node.commit_index());
        f(server, now);
        let actions = server.take_outgoing();
        let node = server.node();
        let after = (node.role(), node.term(), node.commit_index());
        let (timeouts, digest) = (node.election_timeouts(), node.state_machine().digest());
        if before.0 == RoleKind::Leader && after.0 != RoleKind::Leader {
            self.slots[id as usize].timer_reset = now;
        }
        self.check_timer(id, now, timeouts);
        if after.2 != before.2 {
            self.check_store(id, after.2, digest);
        }
        if after.0 == RoleKind::Leader {
            self.check_leases(id);
        }
        if before.0 != after.0 || before.1 != after.1 {
            let (role, term) = (after.0, after.1);
            self.record(TraceKind::Role {
                node: id,
                role,
                term,
                from: before.0,
            });
        }
        self.check(id);
        self.emit(id, actions, (before.2, after.2));
        self.schedule_tick(id);
    }

    /// Traces and dispatches what a node output, in order: one line per
    /// commit (`commit`: the commit index before and after), after the
    /// reasons it follows (entries dropped and appended come before the
    /// commit that covers them), and none if a reason already told it.
    fn emit(&mut self, id: NodeId, actions: Vec<Outgoing>, (was, is): (Index, Index)) {
        let explained = actions
            .iter()
            .filter(|a| matches!(a, Outgoing::Explain(_)))
            .count();
        let told = actions.iter().any(|a| {
            matches!(a, Outgoing::Explain(Reason::CommitAdvanced { index, .. }) if *index == is)
        });
        let mut commit = (is > was && !told).then_some(is);
        let mut reasons = 0;
        for action in actions {
            if reasons == explained
                && let Some(index) = commit.take()
            {
                self.record(TraceKind::Commit { node: id, index });
            }
            if let Outgoing::Explain(reason) = action {
                self.record(TraceKind::Reason { node: id, reason });
                reasons += 1;
                continue;
            }
            self.check_stale_append(id, &action);
            self.dispatch(id, action);
        }
        if let Some(index) = commit {
            self.record(TraceKind::Commit { node: id, index });
        }
    }
}
