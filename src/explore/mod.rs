//! The explorer: a breadth-first search of every interleaving of the real
//! core, for the shortest run that breaks a check.
//!
//! Where [`crate::sim::chaos`] samples runs from seeds, the explorer
//! enumerates them. A state is a [`crate::sim::Cluster`] of real
//! [`crate::kv::Server`]s (each a real [`crate::raft::Node`]) with every
//! message held, plus the clients' history. The events enabled in a state
//! ([`Event`]) are: deliver any one held message (in any order), deliver a
//! copy of it (a duplicate), drop it, fire a node's timer, crash or restart
//! a node, and a client put or get to any live node. Faults and requests
//! have budgets ([`Options`]); the search has a depth and a state bound.
//!
//! The search is breadth-first with a visited set of state fingerprints
//! (64-bit hashes of everything that decides the future: nodes, held
//! messages as a multiset, timers, clock, client history, and what the
//! checks recorded so far), so the first violation found is one of the
//! shortest, and a state reached twice is expanded once. Each state is
//! checked with every check the simulator runs after each event: Election
//! Safety, Leader Append-Only, Log Matching, Leader Completeness, State
//! Machine Safety, Commit Quorum, Commit Rule, Commit Monotonic, Vote Once,
//! Persistent State, Election Timer, Lease Exclusion and Stale Term (the
//! cluster runs them), then the linearizability of the clients' history and
//! the answer ledger (what was answered against what the stores applied).
//!
//! # Time
//!
//! The world has one virtual clock, and it moves only when a timer fires:
//! the explorer's "time passes" is "the next timer fires", and time jumps
//! to its deadline. A message may arrive at any moment after it was sent
//! (any delay), or never. With [`Timing::Prompt`] (the default) timers
//! fire in deadline order, as on a machine that is never late; with
//! [`Timing::Any`] any pending timer may fire first, a node running late
//! (a process pause), which multiplies the states.
//!
//! Each node reads its own clock ([`crate::sim::clock`]). Without drift
//! they all read virtual time. With [`Options::drift`] every path starts
//! by choosing, for each node, a clock that runs that much fast or that
//! much slow ([`Event::Clocks`], 2^n choices): the bounds of the drift,
//! which is where the timing rules are tightest (a slow leader's lease
//! lasts longest, a fast follower's timer runs out soonest). Rates inside
//! the bounds, or a rate that changes along a path, are not explored.
//!
//! This is a timed model: the lease (a leader reads alone until a lease
//! after the heartbeat a majority acknowledged) and the vote guard (no
//! vote within a minimum election timeout of a leader) are explored with
//! the real timeouts, and the checks that depend on time (Lease Exclusion,
//! Election Timer) read each node's clock against virtual time. The rules
//! that need no clock (elections, replication, commitment, reads through
//! the log or ReadIndex) are explored by every order of deliveries between
//! two timer events.
//!
//! # What a clean search proves, and what it does not
//!
//! Every run of at most `depth` events from the start state, within the
//! budgets, with the model's timing, keeps every check (up to 64-bit hash
//! collisions in the visited set, about one in 10^10 for a million states).
//! Not covered: longer runs, more faults or requests than the budgets,
//! clock rates other than the drift's two bounds (chaos samples them:
//! `gradesim chaos --drift`), liveness (a
//! run that never elects a leader is not a violation), and the
//! acknowledged-puts check, which needs a quiet end. A search stopped by
//! its state bound proves only what it reached: the report says which.
//!
//! # Why a search of its own, not the `stateright` crate
//!
//! Stateright's checkers (0.31) run on threads with a web explorer served
//! by `tiny_http`, which it always pulls in; neither builds for the page's
//! wasm32 target, where "show me how" runs this same search in a worker.
//! Its actor model would also wrap the core in a second world beside the
//! simulator's, with its own copy of every check. Here the world and its
//! checks are the simulator's own (one [`crate::sim::Cluster`]), so a
//! change to a check changes what chaos, the scripted tests and the
//! explorer see alike. Symmetry reduction is not used: it is unsound for
//! this core, whose nodes are not interchangeable (each draws its timeouts
//! from an RNG seeded by its id, and ties between followers are broken by
//! lowest id).
//!
//! Owns the search and its client model; must not touch the core (it only
//! calls the cluster's public controls), sockets, threads on wasm, or the
//! wall clock inside the search (the caller times it).

mod search;
pub mod world;

pub use search::{Counterexample, Found, Level, Replayed, Report, Step, Stop, replay, search};
pub use world::{Broken, Event, KEY, World};

use crate::raft::{Bug, Config};
use serde::{Deserialize, Serialize};

/// When timers may fire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timing {
    /// Only the timers due first (ties all enabled).
    Prompt,
    /// Any pending timer, however late that makes the others.
    Any,
}

/// Where the search starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Start {
    /// Every node fresh, no leader, at time 0.
    Fresh,
    /// After an election run in order (every message delivered at once,
    /// timers in order) until a leader's no-op is on every node and
    /// committed: the search spends its depth after the first election.
    Leader,
}

/// Which nodes clients ask.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Requests {
    /// Any live node (followers hold or redirect).
    Any,
    /// Only a node that leads: the requests that can be served, a third of
    /// the branching on three nodes.
    Leaders,
}

/// `ALL`, `name` and `FromStr` for an option's enum, by the serde names.
macro_rules! named {
    ($t:ident, $what:literal, $($v:ident => $n:literal),+) => {
        impl $t {
            pub const ALL: &[$t] = &[$($t::$v),+];

            /// The name a command line uses (as serde writes it).
            pub fn name(self) -> &'static str {
                match self {
                    $($t::$v => $n),+
                }
            }
        }

        impl std::str::FromStr for $t {
            type Err = String;

            fn from_str(text: &str) -> Result<Self, String> {
                crate::raft::by_name(text, Self::ALL, Self::name, $what)
            }
        }
    };
}

named!(Timing, "timings", Prompt => "prompt", Any => "any");
named!(Start, "starts", Fresh => "fresh", Leader => "leader");
named!(Requests, "request targets", Any => "any", Leaders => "leaders");

/// What to explore, and how far.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Options {
    pub nodes: usize,
    /// Seeds the nodes' RNGs (their election timeouts).
    pub seed: u64,
    pub raft: Config,
    /// Events on a path, at most.
    pub depth: usize,
    /// Distinct states, at most.
    pub max_states: u64,
    pub timing: Timing,
    /// Clock rate drift: when above 0, every path starts by choosing each
    /// node's clock to run this much fast or slow ([`Event::Clocks`]).
    #[serde(default)]
    pub drift: f64,
    pub start: Start,
    /// Budgets per path.
    pub crashes: u32,
    pub duplicates: u32,
    pub drops: u32,
    pub puts: u32,
    pub gets: u32,
    pub requests: Requests,
    /// At most this many messages wait on one link (from, to); a newer one
    /// pushes the oldest out, lost, as a full queue would. Losing is a
    /// behaviour of the network, so every run searched is still a real
    /// one; what a cap leaves out is runs where an older message on a link
    /// arrives after more than this many newer ones were sent. `None`: no
    /// cap, every interleaving.
    #[serde(default)]
    pub link_capacity: Option<usize>,
    /// Worker threads (native only; the page's search runs on one).
    #[serde(default = "one")]
    pub threads: usize,
}

fn one() -> usize {
    1
}

impl Default for Options {
    fn default() -> Self {
        Options {
            nodes: 3,
            seed: 1,
            raft: Config::default(),
            depth: 12,
            max_states: 1_000_000,
            timing: Timing::Prompt,
            drift: 0.0,
            start: Start::Fresh,
            crashes: 1,
            duplicates: 0,
            drops: 0,
            puts: 1,
            gets: 1,
            requests: Requests::Any,
            link_capacity: None,
            threads: 1,
        }
    }
}

impl Options {
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=9).contains(&self.nodes) {
            return Err(format!("explore takes 1 to 9 nodes, got {}", self.nodes));
        }
        if !(0.0..0.5).contains(&self.drift) {
            return Err(format!("drift must be in [0, 0.5), got {}", self.drift));
        }
        if self.link_capacity == Some(0) {
            return Err("a link holds at least one message".into());
        }
        if self.depth == 0 || self.max_states == 0 || self.threads == 0 {
            return Err("depth, states and threads must be at least 1".into());
        }
        self.raft.validate()
    }

    /// The same search for a planted variant (the exam's bounds are the
    /// same for every variant).
    pub fn for_bug(&self, bug: Bug) -> Options {
        let mut o = self.clone();
        o.raft.bug = Some(bug);
        o
    }
}
