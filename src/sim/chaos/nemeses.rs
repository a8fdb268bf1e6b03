//! The faults chaos draws, each with its weight: the usual nemeses
//! (crashes, restarts, partitions, one-way cuts, heals, bursts of loss,
//! forced timeouts) and the compound faults the lease and the vote rules
//! exist for. A fault that does not apply where it is drawn (a crash with
//! one node up, a leader's fault with no leader) does nothing.
//!
//! Owns what each fault does; when faults come is [`super::World::run`]'s.
//! A fault the cluster refuses (a crash of a node already down) is a
//! no-op: the draw goes on.

use super::{Later, World};
use crate::raft::NodeId;
use crate::raft::time::{MILLISECOND as MS, SECOND, Time};
use rand::RngExt;
use rand::seq::IndexedRandom;

/// Where the cluster stands when a fault is drawn.
struct Scene {
    n: NodeId,
    alive: Vec<NodeId>,
    dead: Vec<NodeId>,
    leader: Option<NodeId>,
    now: Time,
    /// The maximum election timeout.
    timeout: Time,
}

type Nemesis = fn(&mut World, Scene);

/// Each fault and its weight in the draw (the weights sum to the draw's
/// range; the order is the draw's).
const NEMESES: [(u32, Nemesis); 14] = [
    (15, World::crash_one),
    (7, World::crash_and_return),
    (13, World::restart_one),
    (12, World::partition_at_random),
    (8, World::cut_links),
    (12, World::heal),
    (8, World::loss_burst),
    (8, World::force_timeout),
    (15, World::isolate_leader),
    (8, World::cut_leader_from_one),
    (12, World::bridge),
    (10, World::slow_acks_then_isolate),
    (12, World::leader_dies_amid_two_candidates),
    (14, World::lease_trap),
];

impl World {
    /// One random fault, drawn by weight.
    pub(super) fn fault(&mut self) {
        let n = self.cluster.len() as NodeId;
        let alive = self.cluster.alive();
        let scene = Scene {
            n,
            dead: (0..n).filter(|i| !alive.contains(i)).collect(),
            alive,
            leader: self.cluster.leader(),
            now: self.cluster.now(),
            timeout: self.cluster.options().raft.election_timeout_max,
        };
        let total: u32 = NEMESES.iter().map(|(w, _)| w).sum();
        let mut draw = self.rng.random_range(0..total);
        for (weight, nemesis) in NEMESES {
            if draw < weight {
                return nemesis(self, scene);
            }
            draw -= weight;
        }
    }

    fn crash_one(&mut self, s: Scene) {
        if s.alive.len() > 1 {
            let victim = *s.alive.choose(&mut self.rng).expect("some alive");
            self.cluster.crash(victim).ok();
        }
    }

    /// Crash and come back soon, perhaps within one election.
    fn crash_and_return(&mut self, s: Scene) {
        if s.alive.len() > 1 {
            let victim = *s.alive.choose(&mut self.rng).expect("some alive");
            self.cluster.crash(victim).ok();
            let back = s.now + self.rng.random_range(10 * MS..=SECOND);
            self.later.push((back, Later::Restart(victim)));
        }
    }

    fn restart_one(&mut self, s: Scene) {
        if let Some(&back) = s.dead.choose(&mut self.rng) {
            self.cluster.restart(back).ok();
        }
    }

    fn partition_at_random(&mut self, s: Scene) {
        let groups = self.rng.random_range(2..=3);
        let mut members: Vec<Vec<NodeId>> = vec![Vec::new(); groups];
        for i in 0..s.n {
            members[self.rng.random_range(0..groups)].push(i);
        }
        self.cluster.partition(&members).ok();
    }

    fn cut_links(&mut self, s: Scene) {
        for _ in 0..self.rng.random_range(1..=3) {
            let from = self.rng.random_range(0..s.n);
            let to = (from + self.rng.random_range(1..s.n)) % s.n;
            self.cluster.cut(from, to).ok();
        }
    }

    fn heal(&mut self, _: Scene) {
        self.cluster.heal();
    }

    fn loss_burst(&mut self, s: Scene) {
        let rate = self.rng.random_range(0.2..0.8);
        self.cluster.set_drop_rate(rate).ok();
        let length = self.rng.random_range(200 * MS..=2 * SECOND);
        self.burst_ends = Some(s.now + length);
    }

    fn force_timeout(&mut self, s: Scene) {
        if let Some(&who) = s.alive.choose(&mut self.rng) {
            self.cluster.timeout(who).ok();
        }
    }

    /// Cut the leader off, alone or with a minority.
    fn isolate_leader(&mut self, s: Scene) {
        let Some(leader) = s.leader else { return };
        let company = self.rng.random_range(0..s.n as usize / 2);
        let mut side = vec![leader];
        side.extend(self.others(leader).into_iter().take(company));
        self.cluster.partition(&[side]).ok();
    }

    /// The leader stops reaching one follower.
    fn cut_leader_from_one(&mut self, s: Scene) {
        let Some(leader) = s.leader else { return };
        let to = (leader + self.rng.random_range(1..s.n)) % s.n;
        self.cluster.cut(leader, to).ok();
    }

    /// A bridge: the leader and some followers stop hearing each other,
    /// while the rest hear both sides.
    fn bridge(&mut self, s: Scene) {
        let Some(leader) = s.leader else { return };
        let count = self.rng.random_range(1..=(s.n as usize / 2).max(1));
        for f in self.others(leader).into_iter().take(count) {
            self.cluster.cut(leader, f).ok();
            self.cluster.cut(f, leader).ok();
        }
    }

    /// Acknowledgements crawl to the leader; then it is cut off.
    fn slow_acks_then_isolate(&mut self, s: Scene) {
        let Some(leader) = s.leader else { return };
        let extra = self.rng.random_range(s.timeout / 2..=2 * s.timeout);
        for f in self.others(leader) {
            self.cluster.slow(f, leader, extra).ok();
        }
        let when = s.now + self.rng.random_range(extra..=2 * extra);
        self.later.push((when, Later::Isolate(leader)));
    }

    /// The leader dies, two nodes stand at once, and a voter crashes and
    /// comes back during the election.
    fn leader_dies_amid_two_candidates(&mut self, s: Scene) {
        let Some(leader) = s.leader.filter(|_| s.n >= 3) else {
            return;
        };
        self.cluster.crash(leader).ok();
        let others = self.others(leader);
        for &c in &others[..2] {
            self.cluster.timeout(c).ok();
        }
        self.crash_next_voter = true;
    }

    /// Everyone up and linked, then the lease trap once the followers have
    /// caught up with the leader.
    fn lease_trap(&mut self, s: Scene) {
        if s.leader.is_none() || s.n < 3 {
            return;
        }
        self.cluster.heal();
        for id in s.dead {
            self.cluster.restart(id).ok();
        }
        let settle = self.rng.random_range(s.timeout..=2 * s.timeout);
        self.later.push((s.now + settle, Later::LeaseTrap));
    }
}
