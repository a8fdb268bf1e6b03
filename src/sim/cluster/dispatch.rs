//! What leaves a node: a message to a peer (through the network, or held
//! for the explorer) or an answer to a client, paced, and logged on the
//! wire.
//!
//! Owns the fate of each output once the node has produced it; must not
//! change the node.

use super::{Cluster, Delivered, Event};
use crate::kv::{Outgoing, Put, Response};
use crate::raft::{Envelope, Message, NodeId, Time};
use crate::sim::network::Loss;
use crate::sim::trace::TraceKind;
use crate::wire;
use rand::RngExt;

/// When an output leaves its node and when it would arrive, and whether
/// the grader's socket for the node had room for it.
#[derive(Clone, Copy)]
struct Departure {
    depart: Time,
    at: Time,
    overflow: bool,
}

impl Cluster {
    pub(super) fn dispatch(&mut self, from: NodeId, action: Outgoing) {
        let delay = self.network.delay(&mut self.rng);
        let depart = if self.options.pace {
            self.slots[from as usize].pacer.reserve(self.now)
        } else {
            self.now
        };
        let overflow = self.overflows(from, depart);
        let leaving = Departure {
            depart,
            at: depart + delay,
            overflow,
        };
        match action {
            Outgoing::Send { envelope, leader } => self.send(from, envelope, leader, leaving),
            // Handled by the caller: nothing leaves the node.
            Outgoing::Explain(_) => {}
            Outgoing::Respond(response) => self.respond(from, response, leaving),
        }
    }

    /// A message to a peer: counted, its vote observed, logged, then held
    /// for the driver or scheduled to arrive (unless lost).
    fn send(
        &mut self,
        from: NodeId,
        envelope: Envelope<Put>,
        leader: Option<NodeId>,
        d: Departure,
    ) {
        self.stats.replica_messages += 1;
        let cause = self.causes.classify(&envelope);
        *self.stats.by_cause.entry(cause).or_default() += 1;
        self.observe_vote(from, &envelope);
        self.note_leader(from, leader);
        let fate = self.network.fate(&mut self.rng, from, envelope.to);
        let loss = if d.overflow {
            Some(Loss::Overflow)
        } else {
            fate
        };
        if self.options.wire_log {
            let dead = (!self.is_alive(envelope.to)).then_some(Loss::Dead);
            let ends = (wire::id(from), wire::id(envelope.to));
            let bytes = wire::encode_envelope(&envelope, leader);
            self.log_wire(d.depart, ends, bytes, loss.or(dead));
        }
        if self.options.trace {
            self.record(TraceKind::Send {
                envelope: envelope.clone(),
                loss,
            });
        }
        if self.options.hold_messages {
            return self.held.push(envelope);
        }
        self.schedule_delivery(envelope, d.at, loss);
    }

    /// Figure 2: granting a vote restarts the election timer; and Vote
    /// Once sees every vote granted.
    fn observe_vote(&mut self, from: NodeId, envelope: &Envelope<Put>) {
        let Message::RequestVoteResponse(r) = &envelope.message else {
            return;
        };
        if !r.granted || r.pre_vote {
            return;
        }
        self.slots[from as usize].timer_reset = self.local_time(from, self.now);
        self.votes = (self.votes.0 + 1, Some(from));
        let vote = (from, envelope.term, envelope.to);
        if let Some(Err(e)) = self.invariants.as_mut().map(|i| i.observe_vote(vote)) {
            self.violate(e);
        }
    }

    /// Schedules a message's arrival at `at`, later on a slow link or when
    /// the network delays it long, and a copy too when it duplicates it.
    fn schedule_delivery(&mut self, envelope: Envelope<Put>, at: Time, loss: Option<Loss>) {
        let sent = self.now;
        let at = at + self.network.extra_delay(envelope.from, envelope.to);
        let (long, max) = self.options.long_delay;
        let at = if long > 0.0 && self.rng.random_bool(long) {
            at + self.rng.random_range(0..=max)
        } else {
            at
        };
        let dup = self.options.duplicate_rate;
        if loss.is_none() && dup > 0.0 && self.rng.random_bool(dup) {
            let again = self.now + self.network.delay(&mut self.rng);
            let copy = Event::Deliver {
                envelope: envelope.clone(),
                sent,
                loss,
            };
            self.schedule(again, copy);
        }
        let event = Event::Deliver {
            envelope,
            sent,
            loss,
        };
        self.schedule(at, event);
    }

    /// An answer to a client: logged, then kept for the driver (manual
    /// time) or scheduled, in order on its client's link.
    fn respond(&mut self, from: NodeId, response: Response, d: Departure) {
        self.note_leader(from, response.leader);
        if self.options.wire_log {
            let ends = (wire::id(from), wire::id(response.client));
            let bytes = wire::encode_response(from, &response);
            self.log_wire(d.depart, ends, bytes, d.overflow.then_some(Loss::Overflow));
        }
        if d.overflow {
            return;
        }
        if self.options.manual_time {
            self.record(TraceKind::Response {
                from,
                response: response.clone(),
            });
            return self.answers.push(Delivered { from, response });
        }
        let link = self
            .client_links
            .entry((from, response.client))
            .or_insert(0);
        let at = d.at.max(*link);
        *link = at;
        let sent = self.now;
        let event = Event::Response {
            from,
            response,
            sent,
        };
        self.schedule(at, event);
    }

    pub(super) fn note_leader(&mut self, from: NodeId, leader: Option<NodeId>) {
        if self.options.leader_claims {
            self.claims.push((from, leader));
        }
    }
}
