//! Faults a driver injects: crashes and restarts, forced timeouts,
//! partitions and cut links, lost or slowed messages, the network's drop
//! rate and latency.
//!
//! Owns what each fault does to the messages in flight; the network's
//! rules are [`super::super::network`]'s.

use super::{Cluster, Event, Refused, Scheduled};
use crate::kv::Put;
use crate::raft::{Envelope, NodeId, Time};
use crate::sim::network::Loss;
use crate::sim::trace::TraceKind;
use rand::RngExt;
use std::collections::BinaryHeap;

impl Cluster {
    pub fn crash(&mut self, id: NodeId) -> Result<(), Refused> {
        self.check_id(id)?;
        let slot = &mut self.slots[id as usize];
        let Some(server) = slot.server.take() else {
            return Err(Refused::AlreadyDown(id));
        };
        slot.saved = server.node().persistent().clone();
        slot.tick_at = None;
        self.record(TraceKind::Crash { node: id });
        self.lose_unsent(id);
        Ok(())
    }

    pub fn restart(&mut self, id: NodeId) -> Result<(), Refused> {
        self.check_id(id)?;
        if self.is_alive(id) {
            return Err(Refused::AlreadyUp(id));
        }
        if let Some(inv) = &mut self.invariants {
            inv.restarted(id);
        }
        self.boot(id);
        self.record(TraceKind::Restart { node: id });
        Ok(())
    }

    /// Makes a node time out now, as if its election timer fired.
    pub fn timeout(&mut self, id: NodeId) -> Result<(), Refused> {
        self.check_id(id)?;
        if !self.is_alive(id) {
            return Err(Refused::Down(id));
        }
        self.forced = Some(id);
        self.with_server(id, |s, now| s.campaign(now));
        self.forced = None;
        Ok(())
    }

    /// Cuts every link between the groups; unnamed nodes form one more group.
    pub fn partition(&mut self, groups: &[Vec<NodeId>]) -> Result<(), Refused> {
        let n = self.len();
        let mut seen = vec![false; n];
        for &m in groups.iter().flatten() {
            self.check_id(m)?;
            if std::mem::replace(&mut seen[m as usize], true) {
                return Err(Refused::InTwoGroups(m));
            }
        }
        self.network.partition(n, groups);
        self.record(TraceKind::Partition {
            groups: groups.to_vec(),
        });
        self.lose_across_cuts();
        Ok(())
    }

    /// Messages in flight on a link that is now cut are lost with it: a
    /// partition cuts what is on the wire too, so that no message crosses
    /// a line the page has just drawn.
    pub(super) fn lose_across_cuts(&mut self) {
        if !self.options.cut_in_flight {
            return;
        }
        let network = &self.network;
        lose_in_flight(&mut self.queue, Loss::Partitioned, |e, _| {
            network.blocked(e.from, e.to)
        });
    }

    /// Drops the message in flight from `from` to `to` sent at `sent` (the
    /// first such, if the network duplicated it): it will not arrive.
    pub fn drop_in_flight(&mut self, from: NodeId, to: NodeId, sent: Time) -> Result<(), Refused> {
        let mut first = true;
        let dropped = lose_in_flight(&mut self.queue, Loss::Dropped, |e, at| {
            let this = first && e.from == from && e.to == to && at == sent;
            first &= !this;
            this
        }) > 0;
        if dropped {
            Ok(())
        } else {
            Err(Refused::NotInFlight { from, to, sent })
        }
    }

    /// Cuts the link from `from` to `to` only.
    pub fn cut(&mut self, from: NodeId, to: NodeId) -> Result<(), Refused> {
        self.check_id(from)?;
        self.check_id(to)?;
        self.network.cut(from, to);
        self.record(TraceKind::Cut { from, to });
        self.lose_across_cuts();
        Ok(())
    }

    /// Delays every message from `from` to `to` by `extra` more
    /// microseconds, until the next heal.
    pub fn slow(&mut self, from: NodeId, to: NodeId, extra: Time) -> Result<(), Refused> {
        self.check_id(from)?;
        self.check_id(to)?;
        self.network.slow(from, to, extra);
        Ok(())
    }

    pub fn heal(&mut self) {
        self.network.heal();
        self.record(TraceKind::Heal);
    }

    pub fn set_drop_rate(&mut self, rate: f64) -> Result<(), Refused> {
        if !(0.0..1.0).contains(&rate) {
            return Err(Refused::DropRate(rate));
        }
        self.network.drop_rate = rate;
        Ok(())
    }

    pub fn set_latency(&mut self, min: Time, max: Time) -> Result<(), Refused> {
        if min == 0 || max < min {
            return Err(Refused::Latency { min, max });
        }
        self.network.latency = (min, max);
        Ok(())
    }

    /// A crashed node's last sends, within a window drawn up to
    /// [`ClusterOptions::crash_loss_window`], never left it: messages to
    /// replicas are marked lost, answers to clients vanish.
    pub(super) fn lose_unsent(&mut self, id: NodeId) {
        let window = self.options.crash_loss_window;
        if window == 0 {
            return;
        }
        let since = self.now.saturating_sub(self.rng.random_range(0..=window));
        let read = self.slots[id as usize].read_upto;
        let mut events = std::mem::take(&mut self.queue).into_vec();
        let unsent = |seq: u64, sent: Time| seq > read && sent >= since;
        events.retain(|e| !matches!(&e.event, Event::Response { from, sent, .. } if *from == id && unsent(e.seq, *sent)));
        for e in &mut events {
            if let Event::Deliver {
                envelope,
                sent,
                loss,
            } = &mut e.event
                && envelope.from == id
                && unsent(e.seq, *sent)
                && loss.is_none()
            {
                *loss = Some(Loss::SenderCrashed);
            }
        }
        self.queue = events.into();
    }
}

/// Marks lost (as `loss`) the messages in flight in `queue` that `pick`
/// chooses, given each one and when it was sent; returns how many.
fn lose_in_flight(
    queue: &mut BinaryHeap<Scheduled>,
    loss: Loss,
    mut pick: impl FnMut(&Envelope<Put>, Time) -> bool,
) -> usize {
    let mut events = std::mem::take(queue).into_vec();
    let mut lost = 0;
    for e in &mut events {
        if let Event::Deliver {
            envelope,
            sent,
            loss: fate @ None,
        } = &mut e.event
            && pick(envelope, *sent)
        {
            *fate = Some(loss);
            lost += 1;
        }
    }
    *queue = events.into();
    lost
}
