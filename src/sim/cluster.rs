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

mod held;

pub use super::causes::Cause;
use super::causes::Causes;
use super::clock::DriftClock;
use super::invariants::Invariants;
use super::network::{Loss, Network};
use super::trace::{TraceEvent, TraceKind};
use crate::kv::{ClientId, Outgoing, Put, Request, Response, Server, Store};
use crate::pace::Pacer;
use crate::raft::{
    Config, Envelope, Index, Message, Node, NodeId, Persistent, Reason, RoleKind, Term, Time,
};
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

/// A socket the grader reads in one loop: it holds `capacity` datagrams and
/// is drained at `drain_per_ms`; what arrives when it is full is dropped by
/// the kernel, answers to clients included.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GraderSocket {
    pub capacity: u32,
    pub drain_per_ms: u32,
}

impl GraderSocket {
    /// The course grader as modelled here: a Python loop that takes about
    /// 50 microseconds a datagram, and the kernel's default receive buffer
    /// (212,992 bytes), which holds a hundred-odd small datagrams. Measured
    /// against: `gradesim udp` saw the kernel drop 208 datagrams at the
    /// grader's sockets in a run where replicas sent bursts of 130 to 150
    /// answers within two milliseconds.
    pub const COURSE: GraderSocket = GraderSocket {
        capacity: 100,
        drain_per_ms: 20,
    };
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

/// The first safety property found broken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Virtual time.
    pub at: Time,
    /// How many events had run.
    pub event: u64,
    /// The check's own words: "Log Matching: S2 has ...".
    pub what: String,
}

impl Violation {
    /// The check that broke ("Log Matching").
    pub fn check(&self) -> &str {
        self.what
            .split_once(':')
            .map_or(&self.what, |(c, _)| c.trim())
    }

    /// What the check says broke, without its name.
    pub fn detail(&self) -> &str {
        self.what.split_once(": ").map_or(&self.what, |(_, d)| d)
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = crate::raft::time::as_secs(self.at);
        write!(f, "at {at:.6} s, event {}: {}", self.event, self.what)
    }
}

/// A datagram as the grader's router would see it, encoded as on the
/// course's wire (with `options.wire_log`). Its fate is decided when it is
/// sent: `delivered`, `dropped`, `partitioned`, `dead` (the receiver is
/// down), or `overflow` (the grader's socket for the sender was full; a
/// real router never sees those).
#[derive(Clone, Debug)]
pub struct Wired {
    /// When it left its sender.
    pub t: Time,
    pub src: String,
    pub dst: String,
    pub bytes: Vec<u8>,
    pub fate: &'static str,
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
            let ppm = (cluster.options.drift * 1e6) as i64;
            let rate_ppm = if ppm > 0 {
                cluster.rng.random_range(-ppm..=ppm)
            } else {
                0
            };
            cluster.slots.push(Slot {
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
            });
        }
        for id in 0..n as NodeId {
            cluster.boot(id);
        }
        for id in 0..n as NodeId {
            cluster.check(id);
        }
        Ok(cluster)
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
    pub fn set_clock(&mut self, time: Time) -> Result<(), String> {
        if self.next_time().is_some_and(|t| t < time) {
            return Err(format!("an event is due before {time}"));
        }
        self.now = self.now.max(time);
        Ok(())
    }

    /// The datagrams sent since the last call, in send order (empty unless
    /// `options.wire_log`).
    pub fn take_wire(&mut self) -> Vec<Wired> {
        std::mem::take(&mut self.wire)
    }

    fn log_wire(
        &mut self,
        t: Time,
        (src, dst): (String, String),
        bytes: Vec<u8>,
        loss: Option<Loss>,
    ) {
        let fate = match loss {
            None => "delivered",
            Some(Loss::Dropped) => "dropped",
            Some(Loss::Partitioned) => "partitioned",
            Some(Loss::Dead | Loss::SenderCrashed) => "dead",
            Some(Loss::Overflow) => "overflow",
            Some(Loss::Displaced) => "displaced",
        };
        let wired = Wired {
            t,
            src,
            dst,
            bytes,
            fate,
        };
        self.wire.push(wired);
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

    // ----- faults ---------------------------------------------------------------

    pub fn crash(&mut self, id: NodeId) -> Result<(), String> {
        self.check_id(id)?;
        let slot = &mut self.slots[id as usize];
        let Some(server) = slot.server.take() else {
            return Err(format!("S{} is already down", id + 1));
        };
        slot.saved = server.node().persistent().clone();
        slot.tick_at = None;
        self.record(TraceKind::Crash { node: id });
        self.lose_unsent(id);
        Ok(())
    }

    pub fn restart(&mut self, id: NodeId) -> Result<(), String> {
        self.check_id(id)?;
        if self.is_alive(id) {
            return Err(format!("S{} is already up", id + 1));
        }
        if let Some(inv) = &mut self.invariants {
            inv.restarted(id);
        }
        self.boot(id);
        self.record(TraceKind::Restart { node: id });
        Ok(())
    }

    /// Makes a node time out now, as if its election timer fired.
    pub fn timeout(&mut self, id: NodeId) -> Result<(), String> {
        self.check_id(id)?;
        if !self.is_alive(id) {
            return Err(format!("S{} is down", id + 1));
        }
        self.forced = Some(id);
        self.with_server(id, |s, now| s.campaign(now));
        self.forced = None;
        Ok(())
    }

    /// Cuts every link between the groups; unnamed nodes form one more group.
    pub fn partition(&mut self, groups: &[Vec<NodeId>]) -> Result<(), String> {
        let n = self.len();
        let mut seen = vec![false; n];
        for &m in groups.iter().flatten() {
            self.check_id(m)?;
            if std::mem::replace(&mut seen[m as usize], true) {
                return Err(format!("S{} is in two groups", m + 1));
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
    fn lose_across_cuts(&mut self) {
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
    pub fn drop_in_flight(&mut self, from: NodeId, to: NodeId, sent: Time) -> Result<(), String> {
        let mut first = true;
        let dropped = lose_in_flight(&mut self.queue, Loss::Dropped, |e, at| {
            let this = first && e.from == from && e.to == to && at == sent;
            first &= !this;
            this
        }) > 0;
        if dropped {
            Ok(())
        } else {
            Err(format!(
                "no message from S{} to S{} sent at {:.3} s is in flight",
                from + 1,
                to + 1,
                crate::raft::time::as_secs(sent)
            ))
        }
    }

    /// Cuts the link from `from` to `to` only.
    pub fn cut(&mut self, from: NodeId, to: NodeId) -> Result<(), String> {
        self.check_id(from)?;
        self.check_id(to)?;
        self.network.cut(from, to);
        self.record(TraceKind::Cut { from, to });
        self.lose_across_cuts();
        Ok(())
    }

    /// Delays every message from `from` to `to` by `extra` more
    /// microseconds, until the next heal.
    pub fn slow(&mut self, from: NodeId, to: NodeId, extra: Time) -> Result<(), String> {
        self.check_id(from)?;
        self.check_id(to)?;
        self.network.slow(from, to, extra);
        Ok(())
    }

    pub fn heal(&mut self) {
        self.network.heal();
        self.record(TraceKind::Heal);
    }

    pub fn set_drop_rate(&mut self, rate: f64) -> Result<(), String> {
        if !(0.0..1.0).contains(&rate) {
            return Err(format!("drop rate must be in [0, 1), got {rate}"));
        }
        self.network.drop_rate = rate;
        Ok(())
    }

    pub fn set_latency(&mut self, min: Time, max: Time) -> Result<(), String> {
        if min == 0 || max < min {
            return Err(format!(
                "latency must satisfy 0 < min <= max, got {min}..{max}"
            ));
        }
        self.network.latency = (min, max);
        Ok(())
    }

    // ----- internals --------------------------------------------------------------

    /// A crashed node's last sends, within a window drawn up to
    /// [`ClusterOptions::crash_loss_window`], never left it: messages to
    /// replicas are marked lost, answers to clients vanish.
    fn lose_unsent(&mut self, id: NodeId) {
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
    pub fn set_clock_rate(&mut self, id: NodeId, ppm: i64) -> Result<(), String> {
        self.check_id(id)?;
        if ppm <= -1_000_000 {
            return Err(format!("a clock rate of {ppm} ppm stands still"));
        }
        let now = self.now;
        self.slots[id as usize].clock.set_rate(now, ppm);
        self.record(TraceKind::Clock { node: id, ppm });
        self.schedule_tick(id);
        Ok(())
    }

    fn check_id(&self, id: NodeId) -> Result<(), String> {
        if (id as usize) < self.len() {
            Ok(())
        } else {
            Err(format!(
                "no node S{} in a cluster of {}",
                id as u32 + 1,
                self.len()
            ))
        }
    }

    fn boot(&mut self, id: NodeId) {
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
            let name = |v: Option<NodeId>| v.map_or("none".to_string(), |v| format!("S{}", v + 1));
            self.violate(format!(
                "Persistent State: S{} restarted with term {}, vote {} and {} entries, but crashed with term {term}, vote {} and {entries} entries",
                id + 1,
                kept.0,
                name(kept.1),
                kept.2,
                name(vote)
            ));
        }
        self.schedule_tick(id);
    }

    fn deliver(&mut self, envelope: Envelope<Put>, loss: Option<Loss>) {
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
    fn with_server(&mut self, id: NodeId, f: impl FnOnce(&mut Server, Time)) {
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
        // One line per commit, after the reasons (entries dropped and
        // appended come before the commit that covers them); none if a
        // reason already told it.
        let explained = actions
            .iter()
            .filter(|a| matches!(a, Outgoing::Explain(_)))
            .count();
        let told = actions.iter().any(|a| {
            matches!(a, Outgoing::Explain(Reason::CommitAdvanced { index, .. }) if *index == after.2)
        });
        let mut commit = (after.2 > before.2 && !told).then_some(after.2);
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
        self.schedule_tick(id);
    }

    /// Figure 2: a node only times out a minimum election timeout after it
    /// last heard from its leader, granted a vote or started an election.
    fn check_timer(&mut self, id: NodeId, now: Time, timeouts: u64) {
        let slot = &mut self.slots[id as usize];
        if timeouts == slot.timeouts_seen {
            return;
        }
        let since = now.saturating_sub(slot.timer_reset);
        slot.timeouts_seen = timeouts;
        slot.timer_reset = now;
        let min = self.options.raft.election_timeout_min;
        if since < min && self.forced != Some(id) {
            self.violate(format!(
                "Election Timer: S{} timed out {:.1} ms after it last heard from its leader, granted a vote or started an election (the minimum is {:.1} ms)",
                id + 1,
                since as f64 / 1e3,
                min as f64 / 1e3
            ));
        }
    }

    /// With lease reads: no leader of a newer term exists while an older
    /// leader's lease runs (the lease is what lets it read alone).
    fn check_leases(&mut self, id: NodeId) {
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
                self.violate(format!(
                    "Lease Exclusion: S{} leads term {newest} while S{}, leader of term {term}, holds a read lease for {:.1} ms more",
                    newest_leader + 1,
                    old + 1,
                    (until - self.now) as f64 / 1e3
                ));
                return;
            }
        }
    }

    /// Figure 2, AppendEntries step 1: entries from a leader of an older
    /// term are refused.
    fn check_stale_append(&mut self, id: NodeId, action: &Outgoing) {
        let Some((leader, term)) = self.stale_append else {
            return;
        };
        if let Outgoing::Send { envelope, .. } = action
            && envelope.to == leader
            && let Message::AppendEntriesResponse(r) = &envelope.message
            && r.outcome.is_match()
        {
            self.violate(format!(
                "Stale Term: S{} accepted AppendEntries from S{}, leader of term {term}, while in term {}",
                id + 1,
                leader + 1,
                envelope.term
            ));
        }
    }

    fn check_store(&mut self, id: NodeId, applied: Index, digest: u64) {
        let Some(inv) = &mut self.invariants else {
            return;
        };
        if let Err(e) = inv.observe_store(id, applied, digest) {
            self.violate(e);
        }
    }

    fn violate(&mut self, what: String) {
        let (at, event) = (self.now, self.stats.events);
        let v = Violation { at, event, what };
        let seen = self.violations.iter().any(|w| w.check() == v.check());
        if !seen && self.invariants.is_some() {
            self.violations.push(v);
        }
    }

    fn check(&mut self, id: NodeId) {
        let Some(inv) = &mut self.invariants else {
            return;
        };
        let node = self.slots[id as usize].server.as_ref().map(Server::node);
        if let Some(Err(e)) = node.map(|n| inv.observe(n)) {
            self.violate(e);
        }
    }

    /// The datagram leaves `from` at `depart`: whether the grader's socket
    /// is too full to take it.
    fn overflows(&mut self, from: NodeId, depart: Time) -> bool {
        let Some(socket) = self.options.grader_socket else {
            return false;
        };
        let per = 1_000 / Time::from(socket.drain_per_ms.max(1));
        let slot = &mut self.slots[from as usize];
        let queued = slot.socket_busy_until.saturating_sub(depart).div_ceil(per);
        if queued >= Time::from(socket.capacity) {
            self.stats.overflowed += 1;
            return true;
        }
        slot.socket_busy_until = slot.socket_busy_until.max(depart) + per;
        false
    }

    fn dispatch(&mut self, from: NodeId, action: Outgoing) {
        let delay = self.network.delay(&mut self.rng);
        let depart = if self.options.pace {
            self.slots[from as usize].pacer.reserve(self.now)
        } else {
            self.now
        };
        let overflow = self.overflows(from, depart);
        let at = depart + delay;
        match action {
            Outgoing::Send { envelope, leader } => {
                self.stats.replica_messages += 1;
                let cause = self.causes.classify(&envelope);
                *self.stats.by_cause.entry(cause).or_default() += 1;
                if let Message::RequestVoteResponse(r) = &envelope.message
                    && r.granted
                    && !r.pre_vote
                {
                    // Figure 2: granting a vote restarts the election timer.
                    self.slots[from as usize].timer_reset = self.local_time(from, self.now);
                    self.votes = (self.votes.0 + 1, Some(from));
                    let vote = (from, envelope.term, envelope.to);
                    if let Some(Err(e)) = self.invariants.as_mut().map(|i| i.observe_vote(vote)) {
                        self.violate(e);
                    }
                }
                self.note_leader(from, leader);
                let fate = self.network.fate(&mut self.rng, from, envelope.to);
                let loss = if overflow { Some(Loss::Overflow) } else { fate };
                if self.options.wire_log {
                    let dead = (!self.is_alive(envelope.to)).then_some(Loss::Dead);
                    let ends = (wire::id(from), wire::id(envelope.to));
                    let bytes = wire::encode_envelope(&envelope, leader);
                    self.log_wire(depart, ends, bytes, loss.or(dead));
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
                let sent = self.now;
                let at = at + self.network.extra_delay(from, envelope.to);
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
                self.schedule(
                    at,
                    Event::Deliver {
                        envelope,
                        sent,
                        loss,
                    },
                );
            }
            // Handled by the caller: nothing leaves the node.
            Outgoing::Explain(_) => {}
            Outgoing::Respond(response) => {
                self.note_leader(from, response.leader);
                if self.options.wire_log {
                    let ends = (wire::id(from), wire::id(response.client));
                    let bytes = wire::encode_response(from, &response);
                    self.log_wire(depart, ends, bytes, overflow.then_some(Loss::Overflow));
                }
                if overflow {
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
                let at = at.max(*link);
                *link = at;
                let sent = self.now;
                self.schedule(
                    at,
                    Event::Response {
                        from,
                        response,
                        sent,
                    },
                );
            }
        }
    }

    fn note_leader(&mut self, from: NodeId, leader: Option<NodeId>) {
        if self.options.leader_claims {
            self.claims.push((from, leader));
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
