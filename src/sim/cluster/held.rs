//! The cluster driven step by step: messages held until the driver picks
//! one, time moving only when a timer fires. The explorer's world runs in
//! this mode from its start; the page switches into it and back
//! ([`Cluster::set_stepwise`]) so that a student chooses every event.
//!
//! Owns only the driver's controls over held messages and timers; what a
//! delivery or a tick does is the cluster's own (`deliver`, `with_server`).

use super::{Cluster, Delivered, Event, Refused};
use crate::kv::{Put, Request};
use crate::raft::{Envelope, MessageKind, NodeId, Time};
use crate::sim::invariants::unordered_hash;
use crate::sim::network::Loss;
use crate::sim::trace::TraceKind;
use std::collections::BTreeMap;

impl Cluster {
    /// Whether the cluster is driven step by step (held messages, manual
    /// time).
    pub fn stepwise(&self) -> bool {
        self.options.hold_messages && self.options.manual_time
    }

    /// Switches step-by-step driving on or off at the current moment.
    ///
    /// On: every message on its way is held (one the network had already
    /// lost is lost now), a client request on its way arrives now, an
    /// answer on its way is kept for [`Cluster::take_answers`], and timers
    /// wait to be fired. Off: every held message leaves now with a delay
    /// the network draws (and may be lost or cut off as any other), kept
    /// answers reach their clients now, and timers run on the clock again.
    pub fn set_stepwise(&mut self, on: bool) {
        if on == self.stepwise() {
            return;
        }
        self.options.hold_messages = on;
        self.options.manual_time = on;
        if on {
            self.hold_queue();
        } else {
            self.release_held();
        }
    }

    fn hold_queue(&mut self) {
        let mut events = std::mem::take(&mut self.queue).into_sorted_vec();
        // `into_sorted_vec` is ascending in `Ord`, which the heap reverses.
        events.reverse();
        for scheduled in events {
            match scheduled.event {
                Event::Deliver {
                    envelope,
                    loss: None,
                    ..
                } => self.held.push(envelope),
                Event::Deliver {
                    envelope,
                    loss: Some(loss),
                    ..
                } => self.lose_held(envelope, loss),
                Event::Request { to, request } => self.request_now(to, request),
                Event::Response { from, response, .. } => {
                    self.record(TraceKind::Response {
                        from,
                        response: response.clone(),
                    });
                    self.answers.push(Delivered { from, response });
                }
                Event::Tick { .. } => {}
            }
        }
    }

    fn release_held(&mut self) {
        let now = self.now;
        for envelope in std::mem::take(&mut self.held) {
            let at = now + self.network.delay(&mut self.rng);
            let loss = self.network.fate(&mut self.rng, envelope.from, envelope.to);
            let sent = now;
            let event = Event::Deliver {
                envelope,
                sent,
                loss,
            };
            self.schedule(at, event);
        }
        for Delivered { from, response } in std::mem::take(&mut self.answers) {
            let sent = now;
            let event = Event::Response {
                from,
                response,
                sent,
            };
            self.schedule(now, event);
        }
        for id in 0..self.len() as NodeId {
            if let Some(at) = self.timer(id) {
                let at = at.max(now);
                self.slots[id as usize].tick_at = Some(at);
                self.schedule(at, Event::Tick { node: id });
            }
        }
    }

    /// Messages held for the driver (with `options.hold_messages`), in send
    /// order.
    pub fn held(&self) -> &[Envelope<Put>] {
        &self.held
    }

    /// Delivers now, in send order, the held messages `pick` chooses (a
    /// link cut by then loses them); what they cause is held in turn.
    /// Returns how many were taken.
    pub fn deliver_held(&mut self, pick: impl FnMut(&Envelope<Put>) -> bool) -> usize {
        let (chosen, rest) = std::mem::take(&mut self.held).into_iter().partition(pick);
        self.held = rest;
        let chosen: Vec<Envelope<Put>> = chosen;
        let count = chosen.len();
        for envelope in chosen {
            self.deliver_now(envelope);
        }
        count
    }

    /// A held message arrives now, unless its link is cut by then.
    fn deliver_now(&mut self, envelope: Envelope<Put>) {
        let cut = self.network.blocked(envelope.from, envelope.to);
        self.deliver(envelope, cut.then_some(Loss::Partitioned));
    }

    /// A held message is lost, as `loss` says.
    fn lose_held(&mut self, envelope: Envelope<Put>, loss: Loss) {
        self.stats.lost += 1;
        self.record(TraceKind::Lost { envelope, loss });
    }

    /// Drops the held messages `pick` chooses; returns how many.
    pub fn drop_held(&mut self, pick: impl FnMut(&Envelope<Put>) -> bool) -> usize {
        let before = self.held.len();
        let (dropped, rest): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.held).into_iter().partition(pick);
        self.held = rest;
        for envelope in dropped {
            self.lose_held(envelope, Loss::Dropped);
        }
        before - self.held.len()
    }

    /// When node `id`'s timer is due (virtual time), if it is up.
    pub fn timer(&self, id: NodeId) -> Option<Time> {
        let slot = self.slots.get(id as usize)?;
        slot.server.as_ref().and(slot.tick_at)
    }

    /// The timer due first, and its node (the lowest id among ties).
    pub fn first_timer(&self) -> Option<(Time, NodeId)> {
        (0..self.len() as NodeId)
            .filter_map(|id| Some((self.timer(id)?, id)))
            .min()
    }

    /// Node `id`'s timer fires: the clock moves to when it is due (if that
    /// is later) and the node ticks.
    pub fn fire(&mut self, id: NodeId) -> Result<(), Refused> {
        self.check_id(id)?;
        let at = self.timer(id).ok_or(Refused::Down(id))?;
        self.now = self.now.max(at);
        self.stats.events += 1;
        self.slots[id as usize].tick_at = None;
        self.with_server(id, |s, now| s.tick(now));
        Ok(())
    }

    /// Time passes until node `id`'s timer fires: every timer due before
    /// it fires on the way, in deadline order (ties by node), and no
    /// message is delivered.
    pub fn fire_until(&mut self, id: NodeId) -> Result<(), Refused> {
        let target = self.timer(id).ok_or(Refused::Down(id))?;
        loop {
            match self.first_timer().filter(|&(at, _)| at < target) {
                Some((_, earlier)) => self.fire(earlier)?,
                None => return self.fire(id),
            }
        }
    }

    /// A client request reaches replica `to` now (lost if it is down).
    pub fn request_now(&mut self, to: NodeId, request: Request) {
        self.stats.events += 1;
        self.record(TraceKind::Request {
            to,
            request: request.clone(),
        });
        self.with_server(to, |s, now| s.request(now, request));
    }

    /// The answers replicas sent since the last call (with
    /// `options.manual_time`).
    pub fn take_answers(&mut self) -> Vec<Delivered> {
        std::mem::take(&mut self.answers)
    }

    /// Delivers the held message at `index` now; with `keep`, a copy stays
    /// held (the network duplicated it).
    pub fn deliver_held_at(&mut self, index: usize, keep: bool) -> Result<(), Refused> {
        let envelope = match self.held.get(index) {
            Some(e) if keep => e.clone(),
            Some(_) => self.held.remove(index),
            None => return Err(Refused::NoHeld(index)),
        };
        self.stats.events += 1;
        self.deliver_now(envelope);
        Ok(())
    }

    /// The held message at `index` arrives, and what its receiver sends
    /// back to its sender at that moment arrives too: a round trip.
    pub fn round_trip(&mut self, index: usize) -> Result<(), Refused> {
        let envelope = self
            .held
            .get(index)
            .cloned()
            .ok_or(Refused::NoHeld(index))?;
        let before = self.held.len() - 1;
        self.deliver_held_at(index, false)?;
        // What the receiver just sent back, oldest first (each delivery
        // shifts the rest down).
        let mut at = before;
        while at < self.held.len() {
            let e = &self.held[at];
            if e.from == envelope.to && e.to == envelope.from {
                self.deliver_held_at(at, false)?;
            } else {
                at += 1;
            }
        }
        Ok(())
    }

    /// An election in one step: node `id`'s timer fires (time passing
    /// until it, as [`Cluster::fire_until`]), then every pre-vote and vote
    /// request it sends goes round trip at once, to every node, until it
    /// sends none (it won, lost, or is waiting to retry). A shortcut
    /// through a timer and round trips, so it adds no behaviour.
    pub fn campaign(&mut self, id: NodeId) -> Result<(), Refused> {
        self.fire_until(id)?;
        let asks = |e: &Envelope<Put>| {
            e.from == id
                && matches!(
                    e.message.kind(),
                    MessageKind::PreVote | MessageKind::RequestVote
                )
        };
        while let Some(at) = self.held.iter().position(asks) {
            self.round_trip(at)?;
        }
        Ok(())
    }

    /// Loses the held message at `index`, as `loss` says.
    pub fn drop_held_at(&mut self, index: usize, loss: Loss) -> Result<(), Refused> {
        if index >= self.held.len() {
            return Err(Refused::NoHeld(index));
        }
        let envelope = self.held.remove(index);
        self.stats.events += 1;
        self.lose_held(envelope, loss);
        Ok(())
    }

    /// A link holds at most `cap` messages: a newer one pushes the oldest
    /// out (lost as [`Loss::Displaced`]).
    pub fn cap_links(&mut self, cap: usize) -> Result<(), Refused> {
        let mut newer: BTreeMap<(NodeId, NodeId), usize> = BTreeMap::new();
        let mut over = Vec::new();
        for (i, e) in self.held.iter().enumerate().rev() {
            let count = newer.entry((e.from, e.to)).or_default();
            if *count >= cap {
                over.push(i);
            }
            *count += 1;
        }
        // `over` runs from the newest down: removing in that order keeps
        // the other indices valid.
        for i in over {
            self.drop_held_at(i, Loss::Displaced)?;
        }
        Ok(())
    }

    /// A hash of everything that decides what the cluster can do next and
    /// what its checks can still find: the clock, each node (or a crashed
    /// one's persistent state), its timer, the held messages as a multiset
    /// (their order does not count), and what the checks recorded so far.
    /// Leaves out counters and the trace, which decide nothing.
    pub fn fingerprint(&self) -> u64 {
        use std::collections::hash_map::DefaultHasher;
        use std::hash::{Hash, Hasher};
        let mut h = DefaultHasher::new();
        self.now.hash(&mut h);
        for slot in &self.slots {
            slot.server.hash(&mut h);
            if slot.server.is_none() {
                slot.saved.hash(&mut h);
            }
            (slot.tick_at, slot.incarnation, slot.timer_reset, slot.clock).hash(&mut h);
        }
        (unordered_hash(self.held.iter()), self.held.len()).hash(&mut h);
        if let Some(inv) = &self.invariants {
            inv.fingerprint(&mut h);
        }
        self.violations.len().hash(&mut h);
        h.finish()
    }
}
