//! A deterministic discrete-event simulation of a replica cluster.
//!
//! Owns virtual time, the event queue, the replicas ([`Server`]s, or the
//! persistent state of crashed ones), the [`Network`], the safety
//! [`Invariants`] and the trace. Events at the same instant run in the order
//! they were scheduled, and every random draw comes from one seeded RNG, so a
//! seed and a sequence of calls give the same run, byte for byte.
//!
//! Clients are not simulated here: a driver (the grader's workload, the
//! playground, a test) sends requests with [`Cluster::request`] and receives
//! responses from [`Cluster::step`].
//!
//! This file holds the world's state, its queue and its reads; the rest is
//! split by concern, each an `impl Cluster` of its own: `host` (a node
//! booted with its persistent state, handed a message or a tick, its
//! outputs traced and checked), `dispatch` (what leaves a node), `faults`
//! (what a driver injects), `checks` (the checks the cluster runs itself,
//! and [`Violation`]), `socket` (the grader's sockets and the wire log) and
//! `held` (driving step by step: the explorer's world and explore mode).

mod checks;
mod dispatch;
mod faults;
mod held;
mod host;
mod refused;
mod socket;

pub use checks::Violation;
pub use refused::Refused;
pub use socket::{GraderSocket, Wired};

pub use super::causes::Cause;
use super::causes::Causes;
use super::clock::DriftClock;
use super::invariants::Invariants;
use super::network::{Loss, Network};
use super::trace::{TraceEvent, TraceKind};
use crate::kv::{ClientId, Put, Request, Response, Server, Store};
use crate::pace::Pacer;
use crate::raft::{Config, Envelope, Node, NodeId, Persistent, Term, Time};
use crate::wire;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};

#[derive(Clone, Debug)]
pub struct ClusterOptions {
    pub nodes: usize,
    pub seed: u64,
    pub raft: Config,
    /// One-hop latency range in microseconds (see [`Network::latency`]).
    pub latency: (Time, Time),
    pub drop_rate: f64,
    /// Chance that a replica message is delivered twice (the copy with its
    /// own delay).
    pub duplicate_rate: f64,
    /// `(chance, max)`: a replica message is held up for up to `max`
    /// microseconds more (reordered far behind later ones).
    pub long_delay: (f64, Time),
    /// Clock rate drift: each node's clock runs at a rate drawn from
    /// `[1 - drift, 1 + drift]` of virtual time.
    pub drift: f64,
    /// On a crash, what the node sent within this many microseconds before
    /// is lost with it (a suffix in send order, of a length drawn up to
    /// this): a real process's datagrams not yet read off its socket.
    pub crash_loss_window: Time,
    /// Replicas pace their datagrams as the real replica does
    /// ([`crate::pace`]).
    pub pace: bool,
    /// Model of the grader's socket for each replica (every datagram a
    /// replica sends goes through it): `None` for an ideal network.
    pub grader_socket: Option<GraderSocket>,
    /// Keep the leader field of every datagram for
    /// [`Cluster::take_leader_claims`].
    pub leader_claims: bool,
    /// Held delivery: messages between replicas wait, in send order, until
    /// the driver delivers or drops them ([`Cluster::deliver_held`]): the
    /// scripted tests decide every interleaving.
    pub hold_messages: bool,
    pub check_invariants: bool,
    pub trace: bool,
    /// Keep every datagram, encoded as on the course's wire, for
    /// [`Cluster::take_wire`] (`gradesim sim --record`).
    pub wire_log: bool,
    /// A partition or a cut also loses the messages already in flight
    /// across it, as the page draws it. Off, a message on the wire still
    /// arrives (a packet already queued past the break), which is the harder
    /// world for the checks: chaos keeps it off.
    pub cut_in_flight: bool,
    /// Time moves only when the driver fires a node's timer
    /// ([`Cluster::fire`]); client requests arrive at once
    /// ([`Cluster::request_now`]) and answers are kept for
    /// [`Cluster::take_answers`]; nothing waits in the event queue. With
    /// `hold_messages`, every choice is the driver's: the explorer's world.
    pub manual_time: bool,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            nodes: 5,
            seed: 1,
            raft: Config::default(),
            latency: (80, 150),
            drop_rate: 0.0,
            duplicate_rate: 0.0,
            long_delay: (0.0, 0),
            drift: 0.0,
            crash_loss_window: 150,
            pace: true,
            grader_socket: None,
            leader_claims: false,
            wire_log: false,
            cut_in_flight: true,
            hold_messages: false,
            manual_time: false,
            check_invariants: true,
            trace: false,
        }
    }
}

impl ClusterOptions {
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=64).contains(&self.nodes) {
            return Err(format!(
                "nodes must be between 1 and 64, got {}",
                self.nodes
            ));
        }
        if self.latency.0 == 0 || self.latency.1 < self.latency.0 {
            return Err(format!(
                "latency must be a range min..max with 0 < min <= max, got {}..{}",
                self.latency.0, self.latency.1
            ));
        }
        if !(0.0..1.0).contains(&self.drop_rate) {
            return Err(format!(
                "drop rate must be in [0, 1), got {}",
                self.drop_rate
            ));
        }
        let rates = [
            ("duplicate rate", self.duplicate_rate),
            ("long delay chance", self.long_delay.0),
            ("clock drift", self.drift),
        ];
        if let Some((name, v)) = rates.iter().find(|(_, v)| !(0.0..1.0).contains(v)) {
            return Err(format!("{name} must be in [0, 1), got {v}"));
        }
        self.raft.validate()
    }
}

/// A message between replicas on its way, for display.
#[derive(Clone, Debug, PartialEq)]
pub struct InFlight<'a> {
    pub sent: Time,
    pub arrives: Time,
    pub envelope: &'a Envelope<Put>,
    pub loss: Option<Loss>,
}

#[derive(Clone, Debug)]
enum Event {
    Deliver {
        envelope: Envelope<Put>,
        sent: Time,
        loss: Option<Loss>,
    },
    Request {
        to: NodeId,
        request: Request,
    },
    Response {
        from: NodeId,
        response: Response,
        sent: Time,
    },
    Tick {
        node: NodeId,
    },
}

#[derive(Clone)]
struct Scheduled {
    time: Time,
    seq: u64,
    event: Event,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    /// Reversed, so that the max-heap pops the earliest event first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

#[derive(Clone)]
struct Slot {
    server: Option<Server>,
    /// What a crashed node keeps.
    saved: Persistent<Put>,
    tick_at: Option<Time>,
    incarnation: u64,
    /// This node's clock (its rate off virtual time).
    clock: DriftClock,
    /// On this node's clock: when it last restarted its election timer as
    /// Figure 2 says (heard from its leader, granted a vote, started an
    /// election, stepped down, booted), and how many timeouts it had then.
    timer_reset: Time,
    timeouts_seen: u64,
    /// The newest of this node's sends (by schedule order) that reached the
    /// network or a client: a real router reads a socket in order, so
    /// everything sent before it has left too.
    read_upto: u64,
    pacer: Pacer,
    /// When the grader's socket for this node will have drained.
    socket_busy_until: Time,
}

/// Counters of one run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Replica-to-replica messages sent (the grader's `total_msgs`).
    pub replica_messages: u64,
    pub lost: u64,
    pub events: u64,
    /// Datagrams the grader's socket model dropped.
    pub overflowed: u64,
    /// Replica-to-replica messages by what they were for.
    pub by_cause: BTreeMap<Cause, u64>,
}

/// A response from a replica reaching its client.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivered {
    pub from: NodeId,
    pub response: Response,
}

/// Cloned by the explorer to branch its search.
#[derive(Clone)]
pub struct Cluster {
    options: ClusterOptions,
    now: Time,
    seq: u64,
    queue: BinaryHeap<Scheduled>,
    slots: Vec<Slot>,
    rng: ChaCha8Rng,
    network: Network,
    /// `(sender, its leader field)` of every datagram since the last
    /// [`Cluster::take_leader_claims`], if `options.leader_claims`.
    claims: Vec<(NodeId, Option<NodeId>)>,
    /// Messages waiting for the driver, with `options.hold_messages`.
    held: Vec<Envelope<Put>>,
    /// What each replica message was for.
    causes: Causes,
    /// Latest arrival on each replica-to-client link: responses keep their
    /// order on a link, as through the grader's single forwarding loop.
    client_links: BTreeMap<(NodeId, ClientId), Time>,
    invariants: Option<Invariants>,
    /// The first violation of each check, in the order they happened: the
    /// checks go on after one breaks, so that a student who continues sees
    /// what else it leads to.
    violations: Vec<Violation>,
    /// The node whose timeout [`Cluster::timeout`] is forcing right now.
    forced: Option<NodeId>,
    /// Votes granted so far (not pre-votes), and the latest voter.
    votes: (u64, Option<NodeId>),
    /// While a node handles an AppendEntries of an older term: its sender
    /// and term.
    stale_append: Option<(NodeId, Term)>,
    trace: Vec<TraceEvent>,
    /// With `options.wire_log`: datagrams since the last
    /// [`Cluster::take_wire`].
    wire: Vec<Wired>,
    /// With `options.manual_time`: answers sent since the last
    /// [`Cluster::take_answers`].
    answers: Vec<Delivered>,
    pub stats: Stats,
}

impl Cluster {
    pub fn new(options: ClusterOptions) -> Result<Self, String> {
        let fresh = vec![Persistent::default(); options.nodes];
        Self::with_states(options, fresh)
    }

    /// A cluster whose nodes start from the given persistent states (as
    /// after a crash of every node): for scenarios such as the paper's
    /// Figure 7.
    pub fn with_states(
        mut options: ClusterOptions,
        states: Vec<Persistent<Put>>,
    ) -> Result<Self, String> {
        options.validate()?;
        // A traced run says why, too.
        options.raft.explain |= options.trace;
        let n = options.nodes;
        if states.len() != n {
            return Err(format!("{} states for {n} nodes", states.len()));
        }
        let mut cluster = Cluster {
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            slots: Vec::with_capacity(n),
            rng: ChaCha8Rng::seed_from_u64(options.seed),
            network: Network::new(options.latency, options.drop_rate),
            claims: Vec::new(),
            held: Vec::new(),
            causes: Causes::default(),
            client_links: BTreeMap::new(),
            invariants: options.check_invariants.then(|| Invariants::new(n)),
            violations: Vec::new(),
            forced: None,
            votes: (0, None),
            stale_append: None,
            trace: Vec::new(),
            wire: Vec::new(),
            answers: Vec::new(),
            stats: Stats::default(),
            options,
        };
        for saved in states {
            let slot = cluster.new_slot(saved);
            cluster.slots.push(slot);
        }
        for id in 0..n as NodeId {
            cluster.boot(id);
        }
        for id in 0..n as NodeId {
            cluster.check(id);
        }
        Ok(cluster)
    }

    /// A node's slot, down, with its persistent state `saved` and a clock
    /// drawn within the drift bound.
    fn new_slot(&mut self, saved: Persistent<Put>) -> Slot {
        let ppm = (self.options.drift * 1e6) as i64;
        let rate_ppm = if ppm > 0 {
            self.rng.random_range(-ppm..=ppm)
        } else {
            0
        };
        Slot {
            server: None,
            saved,
            tick_at: None,
            incarnation: 0,
            clock: DriftClock::new(rate_ppm),
            timer_reset: 0,
            timeouts_seen: 0,
            read_upto: 0,
            pacer: Pacer::default(),
            socket_busy_until: 0,
        }
    }

    // ----- reads ------------------------------------------------------------

    pub fn now(&self) -> Time {
        self.now
    }
    pub fn options(&self) -> &ClusterOptions {
        &self.options
    }
    pub fn len(&self) -> usize {
        self.slots.len()
    }
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
    pub fn server(&self, id: NodeId) -> Option<&Server> {
        self.slots.get(id as usize)?.server.as_ref()
    }
    pub fn node(&self, id: NodeId) -> Option<&Node<Store>> {
        self.server(id).map(Server::node)
    }
    /// How many times node `id` was restarted after a crash.
    pub fn restarts(&self, id: NodeId) -> u64 {
        self.slots[id as usize].incarnation.saturating_sub(1)
    }
    pub fn is_alive(&self, id: NodeId) -> bool {
        self.server(id).is_some()
    }
    pub fn alive(&self) -> Vec<NodeId> {
        (0..self.len() as NodeId)
            .filter(|&i| self.is_alive(i))
            .collect()
    }
    /// A crashed node's persistent state, or a live one's.
    pub fn persistent(&self, id: NodeId) -> Option<&Persistent<Put>> {
        let slot = self.slots.get(id as usize)?;
        Some(match &slot.server {
            Some(s) => s.node().persistent(),
            None => &slot.saved,
        })
    }
    pub fn network(&self) -> &Network {
        &self.network
    }
    /// `(sender, leader field)` of every datagram replicas sent since the
    /// last call, in send order (empty unless `options.leader_claims`): what
    /// a driver that watches the wire, as the grader does, would read.
    pub fn take_leader_claims(&mut self) -> Vec<(NodeId, Option<NodeId>)> {
        std::mem::take(&mut self.claims)
    }
    /// The live leader with the highest term, if any.
    pub fn leader(&self) -> Option<NodeId> {
        self.alive()
            .into_iter()
            .filter(|&i| self.node(i).is_some_and(|n| n.is_leader()))
            .max_by_key(|&i| self.node(i).map(|n| n.term()))
    }
    /// The first safety property found broken, with when and where.
    pub fn violation(&self) -> Option<&Violation> {
        self.violations.first()
    }
    /// The first violation of each check broken so far, oldest first.
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }
    /// How many votes (not pre-votes) have been granted, and the latest
    /// voter.
    pub fn votes_granted(&self) -> (u64, Option<NodeId>) {
        self.votes
    }
    pub fn trace(&self) -> &[TraceEvent] {
        &self.trace
    }
    /// Takes the trace recorded so far (a long-running driver reads it in
    /// pieces instead of letting it grow).
    pub fn take_trace(&mut self) -> Vec<TraceEvent> {
        std::mem::take(&mut self.trace)
    }
    pub fn next_time(&self) -> Option<Time> {
        self.queue.peek().map(|s| s.time)
    }

    /// Replica messages on their way, in order of arrival (borrowed: the
    /// playground reads them every frame).
    pub fn in_flight(&self) -> Vec<InFlight<'_>> {
        let mut v: Vec<(u64, InFlight<'_>)> = self
            .queue
            .iter()
            .filter_map(|s| match &s.event {
                Event::Deliver {
                    envelope,
                    sent,
                    loss,
                } => Some((
                    s.seq,
                    InFlight {
                        sent: *sent,
                        arrives: s.time,
                        envelope,
                        loss: *loss,
                    },
                )),
                _ => None,
            })
            .collect();
        v.sort_by_key(|(seq, m)| (m.arrives, *seq));
        v.into_iter().map(|(_, m)| m).collect()
    }

    // ----- driving ------------------------------------------------------------

    /// Runs the next event. Returns a client response if that is what it was.
    pub fn step(&mut self) -> Option<Delivered> {
        let Scheduled { time, event, seq } = self.queue.pop()?;
        self.now = self.now.max(time);
        self.stats.events += 1;
        let sender = match &event {
            Event::Deliver { envelope, .. } => Some(envelope.from),
            Event::Response { from, .. } => Some(*from),
            _ => None,
        };
        if let Some(slot) = sender.and_then(|s| self.slots.get_mut(s as usize)) {
            slot.read_upto = slot.read_upto.max(seq);
        }
        match event {
            Event::Deliver {
                envelope,
                loss,
                sent: _,
            } => self.deliver(envelope, loss),
            Event::Request { to, request } => {
                self.record(TraceKind::Request {
                    to,
                    request: request.clone(),
                });
                self.with_server(to, |s, now| s.request(now, request));
            }
            Event::Response { from, response, .. } => {
                self.record(TraceKind::Response {
                    from,
                    response: response.clone(),
                });
                return Some(Delivered { from, response });
            }
            Event::Tick { node } => {
                let slot = &mut self.slots[node as usize];
                if slot.tick_at == Some(time) {
                    slot.tick_at = None;
                    self.with_server(node, |s, now| s.tick(now));
                }
            }
        }
        None
    }

    /// Runs every event up to `until` and moves the clock there; returns the
    /// client responses delivered on the way.
    pub fn run_until(&mut self, until: Time) -> Vec<Delivered> {
        let mut delivered = Vec::new();
        while self.next_time().is_some_and(|t| t <= until) {
            delivered.extend(self.step());
        }
        self.now = self.now.max(until);
        delivered
    }

    /// Moves the clock forward to `time` without running anything; refused
    /// if an event is due before it (that event would be skipped).
    pub fn set_clock(&mut self, time: Time) -> Result<(), Refused> {
        if self.next_time().is_some_and(|t| t < time) {
            return Err(Refused::EventDue(time));
        }
        self.now = self.now.max(time);
        Ok(())
    }

    /// A client request to replica `to`: never lost, arrives after one hop.
    pub fn request(&mut self, to: NodeId, request: Request) {
        if self.options.wire_log {
            let ends = (wire::id(request.client), wire::id(to));
            let dead = (!self.is_alive(to)).then_some(Loss::Dead);
            self.log_wire(self.now, ends, wire::encode_request(to, &request), dead);
        }
        let delay = self.network.delay(&mut self.rng);
        self.schedule(self.now + delay, Event::Request { to, request });
    }

    // ----- internals --------------------------------------------------------------

    /// Node `id`'s clock reading at virtual time `t`.
    pub fn local_time(&self, id: NodeId, t: Time) -> Time {
        self.slots[id as usize].clock.reading(t)
    }

    /// The first virtual time at which node `id`'s clock reads `local` or more.
    fn virtual_time(&self, id: NodeId, local: Time) -> Time {
        self.slots[id as usize].clock.virtual_time(local)
    }

    /// Node `id`'s clock rate, in parts per million off virtual time.
    pub fn clock_rate(&self, id: NodeId) -> i64 {
        self.slots[id as usize].clock.ppm()
    }

    /// From now on node `id`'s clock runs `ppm` parts per million off
    /// virtual time (its reading stays where it is); its timer moves with it.
    pub fn set_clock_rate(&mut self, id: NodeId, ppm: i64) -> Result<(), Refused> {
        self.check_id(id)?;
        if ppm <= -1_000_000 {
            return Err(Refused::ClockStandsStill(ppm));
        }
        let now = self.now;
        self.slots[id as usize].clock.set_rate(now, ppm);
        self.record(TraceKind::Clock { node: id, ppm });
        self.schedule_tick(id);
        Ok(())
    }

    fn check_id(&self, id: NodeId) -> Result<(), Refused> {
        if (id as usize) < self.len() {
            Ok(())
        } else {
            Err(Refused::NoNode {
                id,
                nodes: self.len(),
            })
        }
    }

    fn schedule_tick(&mut self, id: NodeId) {
        let Some(server) = &self.slots[id as usize].server else {
            return;
        };
        let deadline = server.next_deadline();
        let at = self.virtual_time(id, deadline).max(self.now + 1);
        if self.options.manual_time {
            self.slots[id as usize].tick_at = Some(at);
        } else if self.slots[id as usize].tick_at != Some(at) {
            self.slots[id as usize].tick_at = Some(at);
            self.schedule(at, Event::Tick { node: id });
        }
    }

    fn schedule(&mut self, time: Time, event: Event) {
        self.seq += 1;
        self.queue.push(Scheduled {
            time,
            seq: self.seq,
            event,
        });
    }

    fn record(&mut self, kind: TraceKind) {
        if self.options.trace {
            self.trace.push(TraceEvent {
                time: self.now,
                kind,
            });
        }
    }
}
