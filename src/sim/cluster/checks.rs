//! The checks the cluster runs itself after every event, beside the
//! invariants' ([`super::super::invariants`]): Election Timer, Lease
//! Exclusion, Stale Term and the stores' digests; and what a broken check
//! leaves ([`Violation`]).
//!
//! Owns these checks and the violations list; must not change what a node
//! does.

use super::Cluster;
use crate::kv::{Outgoing, Server};
use crate::raft::{Index, Message, NodeId, Time};
use crate::sim::invariants::{Breach, Property};

/// A safety property found broken, and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Virtual time.
    pub at: Time,
    /// How many events had run.
    pub event: u64,
    pub property: Property,
    /// What broke it, in the check's words ("S2 has ...").
    pub detail: String,
}

impl Violation {
    /// The check that broke ("Log Matching").
    pub fn check(&self) -> &'static str {
        self.property.name()
    }

    /// What the check says broke, without its name.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The check's name and what broke: "Log Matching: S2 has ...".
    pub fn what(&self) -> String {
        self.property.said(&self.detail)
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = crate::raft::time::as_secs(self.at);
        write!(f, "at {at:.6} s, event {}: {}", self.event, self.what())
    }
}

impl Cluster {
    /// Figure 2: a node only times out a minimum election timeout after it
    /// last heard from its leader, granted a vote or started an election.
    pub(super) fn check_timer(&mut self, id: NodeId, now: Time, timeouts: u64) {
        let slot = &mut self.slots[id as usize];
        if timeouts == slot.timeouts_seen {
            return;
        }
        let since = now.saturating_sub(slot.timer_reset);
        slot.timeouts_seen = timeouts;
        slot.timer_reset = now;
        let min = self.options.raft.election_timeout_min;
        if since < min && self.forced != Some(id) {
            self.violate(Breach::new(Property::ElectionTimer, format!(
                "S{} timed out {:.1} ms after it last heard from its leader, granted a vote or started an election (the minimum is {:.1} ms)",
                id + 1,
                since as f64 / 1e3,
                min as f64 / 1e3
            )));
        }
    }

    /// With lease reads: no leader of a newer term exists while an older
    /// leader's lease runs (the lease is what lets it read alone).
    pub(super) fn check_leases(&mut self, id: NodeId) {
        let leaders: Vec<(NodeId, u64, Option<Time>)> = self
            .alive()
            .into_iter()
            .filter_map(|i| self.node(i).map(|n| (i, n)))
            .filter(|(_, n)| n.is_leader())
            .map(|(i, n)| (i, n.term(), n.lease_until()))
            .collect();
        let Some(&(_, newest, _)) = leaders.iter().max_by_key(|l| l.1) else {
            return;
        };
        let newest_leader = leaders.iter().find(|l| l.1 == newest).map_or(id, |l| l.0);
        for &(old, term, until) in &leaders {
            let Some(until) = until.filter(|_| term < newest) else {
                continue;
            };
            let until = self.virtual_time(old, until);
            if self.now < until {
                self.violate(Breach::new(Property::LeaseExclusion, format!(
                    "S{} leads term {newest} while S{}, leader of term {term}, holds a read lease for {:.1} ms more",
                    newest_leader + 1,
                    old + 1,
                    (until - self.now) as f64 / 1e3
                )));
                return;
            }
        }
    }

    /// Figure 2, AppendEntries step 1: entries from a leader of an older
    /// term are refused.
    pub(super) fn check_stale_append(&mut self, id: NodeId, action: &Outgoing) {
        let Some((leader, term)) = self.stale_append else {
            return;
        };
        if let Outgoing::Send { envelope, .. } = action
            && envelope.to == leader
            && let Message::AppendEntriesResponse(r) = &envelope.message
            && r.outcome.is_match()
        {
            self.violate(Breach::new(
                Property::StaleTerm,
                format!(
                    "S{} accepted AppendEntries from S{}, leader of term {term}, while in term {}",
                    id + 1,
                    leader + 1,
                    envelope.term
                ),
            ));
        }
    }

    pub(super) fn check_store(&mut self, id: NodeId, applied: Index, digest: u64) {
        let Some(inv) = &mut self.invariants else {
            return;
        };
        if let Err(e) = inv.observe_store(id, applied, digest) {
            self.violate(e);
        }
    }

    pub(super) fn violate(&mut self, breach: Breach) {
        let (at, event) = (self.now, self.stats.events);
        let Breach { property, detail } = breach;
        let v = Violation {
            at,
            event,
            property,
            detail,
        };
        let seen = self.violations.iter().any(|w| w.property == v.property);
        if !seen && self.invariants.is_some() {
            self.violations.push(v);
        }
    }

    pub(super) fn check(&mut self, id: NodeId) {
        let Some(inv) = &mut self.invariants else {
            return;
        };
        let node = self.slots[id as usize].server.as_ref().map(Server::node);
        if let Some(Err(e)) = node.map(|n| inv.observe(n)) {
            self.violate(e);
        }
    }
}
