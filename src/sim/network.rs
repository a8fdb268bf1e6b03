//! The simulated network between replicas: latency, loss and partitions.
//!
//! Owns the link rules only (what is blocked, how long a message travels,
//! whether it is lost). It draws from an RNG the caller passes, so the
//! simulator alone decides the order of random draws.

use crate::raft::{NodeId, Time};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Why a message did not arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// Lost at random (the drop rate).
    Dropped,
    /// The link was cut by a partition.
    Partitioned,
    /// The receiver was down when it arrived.
    Dead,
    /// The sender crashed before the message left it (a real process loses
    /// what it wrote but the router had not read yet).
    SenderCrashed,
    /// The grader's socket for the sender was full.
    Overflow,
    /// Pushed off its link by a newer message: the explorer's links hold
    /// only so many ([`crate::explore::Options::link_capacity`]).
    Displaced,
}

#[derive(Clone, Debug)]
pub struct Network {
    /// One-hop latency, drawn uniformly from `min..=max` microseconds. Keep
    /// `max < 2 * min`, as on the grader's localhost, so that a message
    /// relayed through a second hop never overtakes a direct one.
    pub latency: (Time, Time),
    pub drop_rate: f64,
    /// Group of each node while partitioned; links between groups are cut.
    groups: Option<Vec<usize>>,
    /// One-way cuts, `(from, to)`.
    cuts: BTreeSet<(NodeId, NodeId)>,
    /// Slow links, `(from, to)`: every message on them takes this much
    /// longer.
    slow: BTreeMap<(NodeId, NodeId), Time>,
}

impl Network {
    pub fn new(latency: (Time, Time), drop_rate: f64) -> Self {
        Network {
            latency,
            drop_rate,
            groups: None,
            cuts: BTreeSet::new(),
            slow: BTreeMap::new(),
        }
    }

    pub fn delay(&self, rng: &mut ChaCha8Rng) -> Time {
        rng.random_range(self.latency.0..=self.latency.1.max(self.latency.0))
    }

    /// The fate of a replica-to-replica message sent now.
    pub fn fate(&self, rng: &mut ChaCha8Rng, from: NodeId, to: NodeId) -> Option<Loss> {
        let dropped = self.drop_rate > 0.0 && rng.random_bool(self.drop_rate);
        if self.blocked(from, to) {
            Some(Loss::Partitioned)
        } else if dropped {
            Some(Loss::Dropped)
        } else {
            None
        }
    }

    pub fn blocked(&self, from: NodeId, to: NodeId) -> bool {
        let split = self
            .groups
            .as_ref()
            .is_some_and(|g| g[from as usize] != g[to as usize]);
        split || self.cuts.contains(&(from, to))
    }

    /// Splits `nodes` nodes into groups; nodes not named form one more group.
    pub fn partition(&mut self, nodes: usize, groups: &[Vec<NodeId>]) {
        let mut of = vec![groups.len(); nodes];
        for (g, members) in groups.iter().enumerate() {
            for &m in members {
                of[m as usize] = g;
            }
        }
        self.groups = Some(of);
    }

    pub fn cut(&mut self, from: NodeId, to: NodeId) {
        self.cuts.insert((from, to));
    }

    /// Slows the link from `from` to `to` by `extra` microseconds.
    pub fn slow(&mut self, from: NodeId, to: NodeId, extra: Time) {
        self.slow.insert((from, to), extra);
    }

    /// The extra delay of the link from `from` to `to`.
    pub fn extra_delay(&self, from: NodeId, to: NodeId) -> Time {
        self.slow.get(&(from, to)).copied().unwrap_or(0)
    }

    pub fn heal(&mut self) {
        self.groups = None;
        self.cuts.clear();
        self.slow.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn partitions_and_one_way_cuts() {
        let mut n = Network::new((10, 20), 0.0);
        n.partition(5, &[vec![0, 1, 2]]);
        assert!(!n.blocked(0, 2));
        assert!(n.blocked(0, 3) && n.blocked(4, 1));
        assert!(!n.blocked(3, 4), "the unnamed rest is one group");
        n.heal();
        n.cut(1, 2);
        assert!(n.blocked(1, 2) && !n.blocked(2, 1));
    }

    #[test]
    fn latency_stays_in_range_and_drops_follow_the_rate() {
        let n = Network::new((80, 150), 0.25);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut lost = 0;
        for _ in 0..10_000 {
            let d = n.delay(&mut rng);
            assert!((80..=150).contains(&d));
            lost += n.fate(&mut rng, 0, 1).is_some() as u32;
        }
        assert!((2_200..2_800).contains(&lost), "{lost}");
    }
}
