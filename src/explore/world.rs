//! One state of the explorer's search and the events enabled in it.
//!
//! A [`World`] is a [`Cluster`] in held, manual-time mode (every message
//! waits for the explorer; time moves only when a node's timer fires) plus
//! the clients' history. [`World::enabled`] lists what may happen next,
//! [`World::apply`] makes one event happen and runs every check, and
//! [`World::fingerprint`] names the state for the visited set.
//!
//! Owns the client model (one request per client, a single key, a distinct
//! value per put, no retries) and the checks on client answers; the safety
//! properties of the nodes are the simulator's own, run by the cluster
//! after every event.

use super::{Options, Requests, Start, Timing};
use crate::kv::{ClientId, Op, Reply, Request, Store};
use crate::raft::{Index, NodeId};
use crate::sim::answers::Ledger;
use crate::sim::invariants::Property;
use crate::sim::linearizability::{self, Operation};
use crate::sim::trace::Name;
use crate::sim::{Cluster, ClusterOptions, Loss};
use serde::{Deserialize, Serialize};
use std::hash::{Hash, Hasher};

/// The first client's id; each request comes from a client of its own.
pub const FIRST_CLIENT: ClientId = 100;
/// The one key every request reads or writes (contention is the point).
pub const KEY: &str = "x";

/// Something that can happen in a state. Messages are named by their place
/// among the held ones in that state ([`Cluster::held`], send order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The held message at `message` arrives.
    Deliver {
        message: usize,
    },
    /// It arrives, and what its receiver sends back to its sender arrives
    /// at once too: a round trip in one step (a shortcut through two
    /// deliveries, so that the search reaches deeper runs sooner).
    RoundTrip {
        message: usize,
    },
    /// It arrives and a copy stays on the wire (the network duplicated it).
    Duplicate {
        message: usize,
    },
    /// It is lost.
    Drop {
        message: usize,
    },
    /// Each node's clock runs from now on `ppm` parts per million fast
    /// if its bit (1 << id) is set in `fast`, as much slow if not: with
    /// [`super::Options::drift`], the first event of every path.
    Clocks {
        fast: u16,
        ppm: u32,
    },
    /// The node's timer fires: election timeout, heartbeat, retry.
    Timer {
        node: NodeId,
    },
    /// Time passes until the node's timer fires, every timer due before it
    /// firing on the way, in order, with no message delivered: a shortcut
    /// through several timer events (with [`Timing::Prompt`], when the
    /// node's timer is not the first due).
    Wait {
        node: NodeId,
    },
    /// The node stands for election and each pre-vote and vote request it
    /// sends goes round trip at once, to every node ([`Cluster::campaign`]):
    /// a shortcut through a timer (or a wait) and round trips.
    Campaign {
        node: NodeId,
    },
    Crash {
        node: NodeId,
    },
    /// A crashed node comes back with its persistent state.
    Restart {
        node: NodeId,
    },
    /// A new client puts the next value to the key, asking `node`.
    Put {
        node: NodeId,
    },
    /// A new client gets the key, asking `node`.
    Get {
        node: NodeId,
    },
}

impl Event {
    /// The node the event names (a timer's, a crash's, a request's), if
    /// one; a message is named by its place among the held ones.
    pub fn node(&self) -> Option<NodeId> {
        match *self {
            Event::Timer { node }
            | Event::Wait { node }
            | Event::Campaign { node }
            | Event::Crash { node }
            | Event::Restart { node }
            | Event::Put { node }
            | Event::Get { node } => Some(node),
            Event::Clocks { .. }
            | Event::Deliver { .. }
            | Event::RoundTrip { .. }
            | Event::Duplicate { .. }
            | Event::Drop { .. } => None,
        }
    }
}

/// One client request and, once it came, its answer. Times are the step
/// of the path at which the request was sent and answered: a total order
/// of events, finer than the clock (many events happen at one instant).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct ClientOp {
    client: ClientId,
    mid: String,
    put: Option<String>,
    invoke: u64,
    /// The step of the first answer, which the client acts on.
    answered: Option<u64>,
    /// Every answer, in order (a second one is a bug the ledger sees).
    answers: Vec<Reply>,
}

/// Faults and requests used so far on the path (each has a budget).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
struct Used {
    /// The clocks' rates were set (with [`Options::drift`]).
    clocks: bool,
    crashes: u32,
    duplicates: u32,
    drops: u32,
    puts: u32,
    gets: u32,
}

#[derive(Clone)]
pub struct World {
    cluster: Cluster,
    ops: Vec<ClientOp>,
    used: Used,
    /// Events applied so far (the clients' clock).
    steps: u64,
    /// The store that applied the most entries so far, crashed nodes'
    /// included (by State Machine Safety every other store applied a prefix
    /// of its entries): what the answers are checked against.
    freshest: (Index, Store),
}

/// A check broken by the last event: its name and what it says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Broken {
    pub check: String,
    pub what: String,
}

impl Broken {
    /// `property` broken, as `detail` says.
    fn of(property: Property, detail: &str) -> Broken {
        Broken {
            check: property.name().to_string(),
            what: property.said(detail),
        }
    }
}

impl World {
    /// The start state: every node fresh, at time 0.
    fn new(options: &Options, trace: bool) -> Result<World, String> {
        let cluster_options = ClusterOptions {
            nodes: options.nodes,
            seed: options.seed,
            raft: options.raft.clone(),
            hold_messages: true,
            manual_time: true,
            crash_loss_window: 0,
            pace: false,
            check_invariants: true,
            trace,
            ..ClusterOptions::default()
        };
        Ok(World {
            cluster: Cluster::new(cluster_options)?,
            ops: Vec::new(),
            used: Used::default(),
            steps: 0,
            freshest: (0, Store::default()),
        })
    }

    /// The start state the options name: fresh, or after a first election
    /// run in order ([`Start::Leader`]); the client clock starts at 0.
    pub fn start(options: &Options, trace: bool) -> Result<World, String> {
        Ok(World::start_with_prelude(options, trace)?.0)
    }

    /// The start state and the events that led to it from a fresh cluster
    /// (the first election's, with [`Start::Leader`]): what a driver of
    /// another cluster with the same nodes applies to reach the same start.
    pub fn start_with_prelude(
        options: &Options,
        trace: bool,
    ) -> Result<(World, Vec<Event>), String> {
        let mut world = World::new(options, trace)?;
        let prelude = match options.start {
            Start::Leader => elect(&mut world.cluster)?,
            Start::Fresh => Vec::new(),
        };
        Ok((world, prelude))
    }

    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// The events enabled here, in a fixed order: deliveries (then copies
    /// and drops) in send order, timers, client requests, crashes, restarts.
    pub fn enabled(&self, options: &Options) -> Vec<Event> {
        if options.drift > 0.0 && !self.used.clocks {
            let all = 1u16 << self.cluster.len();
            let ppm = (options.drift * 1e6).round() as u32;
            return (0..all).map(|fast| Event::Clocks { fast, ppm }).collect();
        }
        let faults = Faults {
            shortcuts: true,
            duplicates: self.used.duplicates < options.duplicates,
            drops: self.used.drops < options.drops,
        };
        let mut events = held_events(&self.cluster, faults, options.timing);
        let ids = 0..self.cluster.len() as NodeId;
        let alive: Vec<NodeId> = ids.clone().filter(|&i| self.cluster.is_alive(i)).collect();
        let asked: Vec<NodeId> = alive
            .iter()
            .copied()
            .filter(|&i| {
                options.requests == Requests::Any
                    || self.cluster.node(i).is_some_and(|n| n.is_leader())
            })
            .collect();
        if self.used.puts < options.puts {
            events.extend(asked.iter().map(|&node| Event::Put { node }));
        }
        if self.used.gets < options.gets {
            events.extend(asked.iter().map(|&node| Event::Get { node }));
        }
        if self.used.crashes < options.crashes {
            events.extend(alive.iter().map(|&node| Event::Crash { node }));
        }
        events.extend(
            ids.filter(|&i| !self.cluster.is_alive(i))
                .map(|node| Event::Restart { node }),
        );
        events
    }

    /// Makes `event` happen, then checks everything; `Ok(Some(_))` names
    /// the first check it broke.
    pub fn apply(&mut self, options: &Options, event: Event) -> Result<Option<Broken>, String> {
        self.steps += 1;
        let c = &mut self.cluster;
        match event {
            Event::Clocks { fast, ppm } => {
                self.used.clocks = true;
                set_clocks(c, fast, ppm)?
            }
            Event::Deliver { message } => c.deliver_held_at(message, false)?,
            Event::Duplicate { message } => {
                self.used.duplicates += 1;
                c.deliver_held_at(message, true)?
            }
            Event::Drop { message } => {
                self.used.drops += 1;
                c.drop_held_at(message, Loss::Dropped)?
            }
            Event::RoundTrip { message } => c.round_trip(message)?,
            Event::Timer { node } => c.fire(node)?,
            Event::Wait { node } => c.fire_until(node)?,
            Event::Campaign { node } => c.campaign(node)?,
            Event::Crash { node } => {
                self.used.crashes += 1;
                c.crash(node)?
            }
            Event::Restart { node } => c.restart(node)?,
            Event::Put { node } => {
                self.used.puts += 1;
                let value = format!("v{}", self.used.puts);
                self.request(node, Some(value));
            }
            Event::Get { node } => {
                self.used.gets += 1;
                self.request(node, None);
            }
        }
        self.collect_answers();
        self.note_freshest();
        if let Some(cap) = options.link_capacity {
            self.cluster.cap_links(cap)?;
        }
        Ok(self.broken())
    }

    /// The client of the next request (each request has its own).
    fn next_client(&self) -> ClientId {
        FIRST_CLIENT + self.ops.len() as ClientId
    }

    fn request(&mut self, node: NodeId, put: Option<String>) {
        let client = self.next_client();
        let mid = format!("M{}", self.ops.len() + 1);
        let op = Op::on(KEY, put.as_ref());
        let request = Request {
            client,
            mid: mid.clone(),
            op,
        };
        self.ops.push(ClientOp {
            client,
            mid,
            put,
            invoke: self.steps,
            answered: None,
            answers: Vec::new(),
        });
        self.cluster.request_now(node, request);
    }

    /// Answers reach their clients as they are sent; the first answer to a
    /// request is the one its client acts on, and every answer counts in
    /// the ledger.
    fn collect_answers(&mut self) {
        for delivered in self.cluster.take_answers() {
            let r = delivered.response;
            let Some(op) = self.ops.iter_mut().find(|o| o.client == r.client) else {
                continue;
            };
            op.answered.get_or_insert(self.steps);
            op.answers.push(r.reply);
        }
    }

    fn broken(&self) -> Option<Broken> {
        if let Some(v) = self.cluster.violation() {
            return Some(Broken::of(v.property, v.detail()));
        }
        if let Err(e) = linearizability::check(&self.history()) {
            return Some(Broken::of(Property::Linearizability, &e));
        }
        let ledger = self.ledger().check(&self.freshest.1, false).err();
        ledger.map(|b| Broken::of(b.property, &b.detail))
    }

    /// The clients' history for the linearizability check: puts answered
    /// `ok` end then; other puts may or may not have taken effect; gets
    /// count only when answered with a value.
    fn history(&self) -> Vec<Operation> {
        self.ops
            .iter()
            .filter_map(|o| {
                let ok = match (o.answered, o.answers.first()) {
                    (Some(at), Some(Reply::Ok { value })) => Some((at, value.clone())),
                    _ => None,
                };
                let redirected = o.answered.is_some() && ok.is_none();
                if redirected && o.put.is_none() {
                    return None;
                }
                let result = ok.as_ref().and_then(|(_, v)| v.clone());
                let response = ok.map(|(at, _)| at);
                Operation::of(KEY, o.put.as_ref(), o.invoke, response, result.as_ref())
            })
            .collect()
    }

    fn ledger(&self) -> Ledger {
        let mut ledger = Ledger::default();
        for (n, o) in self.ops.iter().enumerate() {
            ledger.issued(o.client, &o.mid, n, o.put.is_some(), o.invoke);
            for reply in &o.answers {
                ledger.answered(o.client, &o.mid, reply);
            }
        }
        ledger
    }

    fn note_freshest(&mut self) {
        let ahead = (0..self.cluster.len() as NodeId)
            .filter_map(|i| self.cluster.node(i))
            .filter(|n| n.commit_index() > self.freshest.0)
            .max_by_key(|n| n.commit_index());
        if let Some(n) = ahead {
            self.freshest = (n.commit_index(), n.state_machine().clone());
        }
    }

    /// A hash of this state: the cluster's, the client history (answers
    /// by their order against the requests, not by step numbers alone) and
    /// the budgets used.
    pub fn fingerprint(&self) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.cluster.fingerprint().hash(&mut h);
        self.ops.hash(&mut h);
        self.used.hash(&mut h);
        self.freshest.hash(&mut h);
        h.finish()
    }

    /// What `event` means here, in words ("deliver S1 -> S2 RequestVote,
    /// term 1").
    pub fn describe(&self, event: Event) -> String {
        let client = self.next_client();
        match event {
            Event::Put { node } => format!(
                "client {client} puts {KEY}=v{} to S{}",
                self.used.puts + 1,
                node + 1
            ),
            Event::Get { node } => format!("client {client} gets {KEY} from {}", Name(node)),
            _ => describe(&self.cluster, event),
        }
    }
}

/// Which events on held messages are enabled besides delivery.
#[derive(Clone, Copy, Debug)]
pub struct Faults {
    /// Round trips and campaigns: sequences of other events in one step.
    pub shortcuts: bool,
    pub duplicates: bool,
    pub drops: bool,
}

/// The events on held messages and timers enabled in `c`, in a fixed
/// order: deliveries, round trips, copies and drops in send order, then
/// each live node's timer (with [`Timing::Prompt`], only the first due
/// fires at once; a later one is a [`Event::Wait`]), then the campaigns
/// of the nodes that do not lead.
pub fn held_events(c: &Cluster, faults: Faults, timing: Timing) -> Vec<Event> {
    let held = c.held().len();
    let mut events: Vec<Event> = (0..held)
        .map(|message| Event::Deliver { message })
        .collect();
    if faults.shortcuts {
        events.extend((0..held).map(|message| Event::RoundTrip { message }));
    }
    if faults.duplicates {
        events.extend((0..held).map(|message| Event::Duplicate { message }));
    }
    if faults.drops {
        events.extend((0..held).map(|message| Event::Drop { message }));
    }
    let first = c.first_timer().map(|(at, _)| at);
    for node in 0..c.len() as NodeId {
        let Some(at) = c.timer(node) else {
            continue;
        };
        if timing == Timing::Any || Some(at) == first {
            events.push(Event::Timer { node });
        } else {
            events.push(Event::Wait { node });
        }
    }
    if faults.shortcuts {
        let campaigns = (0..c.len() as NodeId).filter(|&node| {
            c.timer(node).is_some() && c.node(node).is_some_and(|n| !n.is_leader())
        });
        events.extend(campaigns.map(|node| Event::Campaign { node }));
    }
    events
}

/// What `event` means in `c`, in words (a client request by the node it
/// goes to).
pub fn describe(c: &Cluster, event: Event) -> String {
    let held = |i: usize| {
        c.held().get(i).map_or("?".to_string(), |e| {
            format!(
                "S{} -> S{} {}, term {}",
                e.from + 1,
                e.to + 1,
                crate::sim::trace::describe(&e.message),
                e.term
            )
        })
    };
    // When a node's timer would fire, in seconds (now, if overdue).
    let fires_at = |node: NodeId| {
        let at = c.timer(node).unwrap_or(0).max(c.now());
        crate::raft::time::as_secs(at)
    };
    match event {
        Event::Clocks { fast, ppm } => clocks_text(c, fast, ppm),
        Event::Deliver { message } => format!("deliver {}", held(message)),
        Event::RoundTrip { message } => format!("deliver {} and its answer", held(message)),
        Event::Duplicate { message } => format!("deliver a copy of {}", held(message)),
        Event::Drop { message } => format!("drop {}", held(message)),
        Event::Timer { node } => format!("{}'s timer fires at {:.3} s", Name(node), fires_at(node)),
        Event::Wait { node } => format!(
            "time passes until S{}'s timer fires at {:.3} s",
            node + 1,
            fires_at(node)
        ),
        Event::Campaign { node } => format!(
            "S{} stands for election at {:.3} s, its vote requests answered at once",
            node + 1,
            fires_at(node)
        ),
        Event::Crash { node } => format!("crash {}", Name(node)),
        Event::Restart { node } => format!("restart {}", Name(node)),
        Event::Put { node } => format!("a client puts to {}", Name(node)),
        Event::Get { node } => format!("a client gets from {}", Name(node)),
    }
}

/// From now on each node's clock runs `ppm` parts per million fast if its
/// bit is set in `fast`, as much slow if not.
pub fn set_clocks(c: &mut Cluster, fast: u16, ppm: u32) -> Result<(), String> {
    for node in 0..c.len() as NodeId {
        let sign = if runs_fast(fast, node) { 1 } else { -1 };
        c.set_clock_rate(node, sign * ppm as i64)?;
    }
    Ok(())
}

/// Whether `node`'s bit is set in a [`Event::Clocks`]'s `fast`.
fn runs_fast(fast: u16, node: NodeId) -> bool {
    fast & (1 << node) != 0
}

/// "clocks drift from now on by 5%: S1 slow, S2 fast, S3 slow".
fn clocks_text(c: &Cluster, fast: u16, ppm: u32) -> String {
    let each: Vec<String> = (0..c.len() as NodeId)
        .map(|node| {
            let how = if runs_fast(fast, node) {
                "fast"
            } else {
                "slow"
            };
            format!("{} {how}", Name(node))
        })
        .collect();
    let percent = ppm as f64 / 1e4;
    format!(
        "clocks drift from now on by {percent}%: {}",
        each.join(", ")
    )
}

/// Delivers the oldest held message, or when none is left fires the timer
/// due first, until a leader's log is on every node and committed
/// everywhere (on a cluster driven step by step); returns the events.
pub fn elect(c: &mut Cluster) -> Result<Vec<Event>, String> {
    const MAX_EVENTS: usize = 10_000;
    let mut events = Vec::new();
    while events.len() < MAX_EVENTS {
        if !c.held().is_empty() {
            c.deliver_held_at(0, false)?;
            events.push(Event::Deliver { message: 0 });
            continue;
        }
        if settled(c) {
            return Ok(events);
        }
        let Some((_, node)) = c.first_timer() else {
            return Err("no timer left before a leader was elected".into());
        };
        c.fire(node)?;
        events.push(Event::Timer { node });
    }
    Err(format!("no settled leader after {MAX_EVENTS} events"))
}

/// A leader leads and every node holds and has committed its log.
fn settled(c: &Cluster) -> bool {
    let Some(leader) = c.leader().and_then(|l| c.node(l)) else {
        return false;
    };
    let last = leader.log().last_index();
    (0..c.len() as NodeId).all(|i| {
        c.node(i)
            .is_some_and(|n| n.log().last_index() == last && n.commit_index() == last)
    })
}
