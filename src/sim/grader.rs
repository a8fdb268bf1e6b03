//! The course grader's clients, fault timeline and scoring, as in
//! `PROTOCOL.md`, independent of how requests reach the replicas.
//!
//! Owns the eight clients ([`Workload`]): what they ask, where they send it,
//! how they react to answers, and every count the grader scores, plus the
//! client history for the linearizability check. A driver moves requests and
//! responses: the simulator here ([`run_sim`]), or real UDP processes (the
//! `gradesim udp` command). Both call the same methods in the same way.

use super::answers::Ledger;
use super::cluster::{Cluster, ClusterOptions, GraderSocket};
use super::config::{FaultKind, GraderConfig};
use super::linearizability::{self, Operation};
use crate::kv::{ClientId, Op, Reply, Request, Response, Store};
use crate::raft::{Config, NodeId, Time};
use md5::{Digest, Md5};
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::collections::BTreeMap;

pub const CLIENTS: usize = 8;
/// After the run is scored, the simulator runs this much longer so that
/// answers already sent reach the ledger.
const SETTLE: Time = 1_000_000;
const SECOND: f64 = 1e6;

fn micros(seconds: f64) -> Time {
    (seconds * SECOND).round() as Time
}

/// The lowercase hexadecimal MD5 of `text`.
pub fn md5_hex(text: &str) -> String {
    Md5::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

struct Client {
    id: ClientId,
    leader: Option<NodeId>,
    /// Last acknowledged value of each key this client put.
    acked: BTreeMap<String, String>,
    /// Keys in the order first acknowledged (for a deterministic random pick).
    acked_keys: Vec<String>,
    /// Last value sent for each key this client put.
    sent: BTreeMap<String, String>,
    sent_keys: Vec<String>,
}

struct Waiting {
    client: usize,
    op: usize,
    created: Time,
}

/// One logical operation, over all the MIDs it took.
struct OpRecord {
    key: String,
    put: Option<String>,
    invoke: Time,
    response: Option<Time>,
    result: Option<String>,
    /// Every MID this operation was sent under: to whom, when, and how it
    /// was answered (`None`: not yet).
    attempts: Vec<Attempt>,
}

struct Attempt {
    mid: String,
    to: NodeId,
    sent: Time,
    reply: Option<(Time, NodeId, Reply)>,
}

impl Attempt {
    fn describe(&self) -> String {
        let sent = self.sent as f64 / SECOND;
        let to = self.to + 1;
        match &self.reply {
            None => format!("MID {} to S{to} at {sent:.3} s: unanswered", self.mid),
            Some((at, from, reply)) => format!(
                "MID {} to S{to} at {sent:.3} s: {} from S{} at {:.3} s",
                self.mid,
                reply_name(reply),
                from + 1,
                *at as f64 / SECOND
            ),
        }
    }
}

fn reply_name(reply: &Reply) -> &'static str {
    match reply {
        Reply::Ok { .. } => "ok",
        Reply::Redirect => "redirect",
        Reply::Fail => "fail",
    }
}

/// The grader's clients and tallies for one run.
pub struct Workload {
    config: GraderConfig,
    rng: ChaCha8Rng,
    clients: Vec<Client>,
    next_op: u64,
    next_mid: u64,
    waiting: BTreeMap<String, Waiting>,
    ops: Vec<OpRecord>,
    latencies: Vec<Time>,
    get_latencies: Vec<Time>,
    put_latencies: Vec<Time>,
    pub incorrect: u64,
    incorrect_examples: Vec<String>,
    fails: u64,
    duplicates: u64,
    gets_generated: u64,
    puts_generated: u64,
    get_generation_failures: u64,
    puts_acked: u64,
    /// Every MID and its answers, for the check against the stores.
    ledger: Ledger,
}

impl Workload {
    pub fn new(config: &GraderConfig, seed: u64) -> Self {
        let first_client = config.replicas as ClientId + 16;
        let clients = (0..CLIENTS as ClientId)
            .map(|i| Client {
                id: first_client + i,
                leader: None,
                acked: BTreeMap::new(),
                acked_keys: Vec::new(),
                sent: BTreeMap::new(),
                sent_keys: Vec::new(),
            })
            .collect();
        Workload {
            config: config.clone(),
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x5EED_C11E_u64),
            clients,
            next_op: 0,
            next_mid: 0,
            waiting: BTreeMap::new(),
            ops: Vec::new(),
            latencies: Vec::new(),
            get_latencies: Vec::new(),
            put_latencies: Vec::new(),
            incorrect: 0,
            incorrect_examples: Vec::new(),
            fails: 0,
            duplicates: 0,
            gets_generated: 0,
            puts_generated: 0,
            get_generation_failures: 0,
            puts_acked: 0,
            ledger: Ledger::default(),
        }
    }

    pub fn client_ids(&self) -> Vec<ClientId> {
        self.clients.iter().map(|c| c.id).collect()
    }

    /// When the next operation is due: `requests` spread evenly over
    /// `lifetime`, after `start_wait`.
    pub fn next_op_time(&self) -> Option<Time> {
        let c = &self.config;
        (self.next_op < c.requests)
            .then(|| micros(c.start_wait + self.next_op as f64 * c.lifetime / c.requests as f64))
    }

    /// The fault events, in virtual time from the start of the run.
    pub fn faults(&self) -> Vec<(Time, FaultKind)> {
        let mut v: Vec<(Time, FaultKind)> = self
            .config
            .events
            .iter()
            .map(|e| (micros(self.config.start_wait + e.time), e.kind))
            .collect();
        v.sort_by_key(|(t, _)| *t);
        v
    }

    pub fn end_time(&self) -> Time {
        micros(self.config.duration())
    }

    /// All clients forget the leader (after `kill_leader` and `part_hard`).
    pub fn forget_leader(&mut self) {
        for c in &mut self.clients {
            c.leader = None;
        }
    }

    /// The group of `replicas / 2 + 1` replicas a partition keeps together:
    /// with `leader` in it for `part_easy`, at random otherwise.
    pub fn majority_group(&mut self, leader: Option<NodeId>) -> Vec<NodeId> {
        let n = self.config.replicas;
        let mut others: Vec<NodeId> = (0..n as NodeId).filter(|&i| Some(i) != leader).collect();
        others.shuffle(&mut self.rng);
        let mut group: Vec<NodeId> = leader.into_iter().collect();
        group.extend(others.into_iter().take(n / 2 + 1 - group.len()));
        group.sort_unstable();
        group
    }

    /// A random live replica other than `except`.
    pub fn pick(&mut self, alive: &[NodeId], except: Option<NodeId>) -> Option<NodeId> {
        let choices: Vec<NodeId> = alive
            .iter()
            .copied()
            .filter(|&a| Some(a) != except)
            .collect();
        choices.choose(&mut self.rng).copied()
    }

    /// Creates the next operation; returns the replica to send it to.
    pub fn generate(&mut self, now: Time, alive: &[NodeId]) -> Option<(NodeId, Request)> {
        self.next_op += 1;
        let ci = self.rng.random_range(0..CLIENTS);
        let wants_get = self.rng.random_bool(self.config.mix);
        let client = &self.clients[ci];
        let op = if wants_get && !client.acked_keys.is_empty() {
            self.gets_generated += 1;
            let key = client.acked_keys.choose(&mut self.rng).unwrap().clone();
            Op::Get { key }
        } else {
            if wants_get {
                self.get_generation_failures += 1;
            }
            self.puts_generated += 1;
            let reuse = !client.sent_keys.is_empty() && self.rng.random_bool(0.5);
            let (key, value) = if reuse {
                let key = client.sent_keys.choose(&mut self.rng).unwrap().clone();
                let value = md5_hex(&client.sent[&key]);
                (key, value)
            } else {
                let key = self.random_key();
                let value = md5_hex(&key);
                (key, value)
            };
            let client = &mut self.clients[ci];
            if client.sent.insert(key.clone(), value.clone()).is_none() {
                client.sent_keys.push(key.clone());
            }
            Op::Put { key, value }
        };
        let (key, put) = match &op {
            Op::Get { key } => (key.clone(), None),
            Op::Put { key, value } => (key.clone(), Some(value.clone())),
        };
        self.ops.push(OpRecord {
            key,
            put,
            invoke: now,
            response: None,
            result: None,
            attempts: Vec::new(),
        });
        let target = self.target(ci, None, alive)?;
        Some((target, self.issue(now, ci, self.ops.len() - 1, op, target)))
    }

    fn random_key(&mut self) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        (0..32)
            .map(|_| *ALPHABET.choose(&mut self.rng).unwrap() as char)
            .collect()
    }

    /// The client's last known leader if alive, else a random live replica.
    fn target(&mut self, ci: usize, hint: Option<NodeId>, alive: &[NodeId]) -> Option<NodeId> {
        let leader = hint.or(self.clients[ci].leader);
        match leader.filter(|l| alive.contains(l)) {
            Some(l) => Some(l),
            None => self.pick(alive, None),
        }
    }

    fn issue(&mut self, now: Time, ci: usize, op: usize, what: Op, to: NodeId) -> Request {
        self.next_mid += 1;
        let mid = format!("{:08X}{:08X}", self.next_mid, self.rng.random::<u32>());
        let client = self.clients[ci].id;
        let put = self.ops[op].put.is_some();
        self.ledger.issued(client, &mid, op, put, now);
        self.ops[op].attempts.push(Attempt {
            mid: mid.clone(),
            to,
            sent: now,
            reply: None,
        });
        self.waiting.insert(
            mid.clone(),
            Waiting {
                client: ci,
                op,
                created: now,
            },
        );
        Request {
            client: self.clients[ci].id,
            mid,
            op: what,
        }
    }

    fn incorrect(&mut self, why: String) {
        self.incorrect += 1;
        if self.incorrect_examples.len() < 5 {
            self.incorrect_examples.push(why);
        }
    }

    /// Counts a malformed message from a replica (over UDP).
    pub fn malformed(&mut self, why: String) {
        self.incorrect(format!("malformed message: {why}"));
    }

    /// A response reached its client. Returns a retry to send, if any.
    pub fn on_response(
        &mut self,
        now: Time,
        from: NodeId,
        response: Response,
        alive: &[NodeId],
    ) -> Option<(NodeId, Request)> {
        let Response {
            client,
            mid,
            leader,
            reply,
        } = response;
        let before = self.ledger.answered(client, &mid, &reply);
        let Some(ci) = self.clients.iter().position(|c| c.id == client) else {
            self.incorrect(format!("response to unknown client {client}"));
            return None;
        };
        let Some(w) = self.waiting.remove(&mid) else {
            let had_ok = before.is_some_and(|r| r.oks > 0);
            match (had_ok, &reply) {
                (true, Reply::Ok { .. }) => self.duplicates += 1,
                (true, _) => {}
                _ => self.incorrect(format!("response {reply:?} to MID {mid} not awaited")),
            }
            return None;
        };
        if w.client != ci {
            self.incorrect(format!("MID {mid} answered to the wrong client {client}"));
            return None;
        }
        if let Some(a) = self.ops[w.op].attempts.iter_mut().find(|a| a.mid == mid) {
            a.reply = Some((now, from, reply.clone()));
        }
        let latency = now - w.created;
        self.latencies.push(latency);
        self.clients[ci].leader = leader;
        match reply {
            Reply::Ok { value } => {
                self.on_ok(now, ci, w.op, value, latency, &mid);
                None
            }
            refused => {
                if refused == Reply::Fail {
                    self.fails += 1;
                }
                let record = &self.ops[w.op];
                let what = Op::on(&record.key, record.put.as_ref());
                let target = self.target(ci, leader, alive)?;
                Some((target, self.issue(now, ci, w.op, what, target)))
            }
        }
    }

    fn on_ok(
        &mut self,
        now: Time,
        ci: usize,
        op: usize,
        value: Option<String>,
        latency: Time,
        mid: &str,
    ) {
        let record = &mut self.ops[op];
        record.response = Some(now);
        let key = record.key.clone();
        match record.put.clone() {
            Some(put) => {
                self.put_latencies.push(latency);
                self.puts_acked += 1;
                let client = &mut self.clients[ci];
                if client.acked.insert(key.clone(), put).is_none() {
                    client.acked_keys.push(key);
                }
            }
            None => {
                self.get_latencies.push(latency);
                let expected = self.clients[ci]
                    .acked
                    .get(&key)
                    .cloned()
                    .unwrap_or_default();
                let got = value.unwrap_or_default();
                self.ops[op].result = Some(got.clone());
                if got != expected {
                    let source = self.explain_value(&key, &got);
                    self.incorrect(format!(
                        "get {key} (MID {mid}) returned {got:?}, last acknowledged put was {expected:?}{source}"
                    ));
                }
            }
        }
    }

    /// Records an answer that reached its client after the run was scored.
    pub fn late_answer(&mut self, response: &Response) {
        self.ledger
            .answered(response.client, &response.mid, &response.reply);
    }

    /// Checks every answer against `store` (see [`Ledger::check`]).
    pub fn check_answers(&self, store: &Store) -> Result<(), String> {
        self.ledger.check(store, true)
    }

    /// Where a value a get returned came from: the put that wrote it, and
    /// what became of each MID it was sent under.
    fn explain_value(&self, key: &str, value: &str) -> String {
        let put = self
            .ops
            .iter()
            .find(|o| o.key == key && o.put.as_deref() == Some(value));
        let Some(put) = put else {
            return String::new();
        };
        let attempts: Vec<String> = put.attempts.iter().map(Attempt::describe).collect();
        format!("; the put of that value: {}", attempts.join(", then "))
    }

    /// The client history, for the linearizability check.
    pub fn history(&self) -> Vec<Operation> {
        self.ops
            .iter()
            .filter_map(|o| {
                let (put, result) = (o.put.as_ref(), o.result.as_ref());
                Operation::of(&o.key, put, o.invoke, o.response, result)
            })
            .collect()
    }

    /// Scores the run as the grader does.
    pub fn score(&self, total_msgs: u64, died: u64) -> Score {
        let unanswered_gets = self
            .waiting
            .values()
            .filter(|w| self.ops[w.op].put.is_none());
        let unanswered_gets = unanswered_gets.count() as u64;
        let unanswered_puts = self.waiting.len() as u64 - unanswered_gets;
        let c = &self.config;
        let traffic_floor = c.requests as f64 * c.replicas as f64 * (1.0 - c.mix) * 0.5;
        let checks = vec![
            Check::new(
                "incorrect",
                self.incorrect == 0,
                format!("{} incorrect", self.incorrect),
            ),
            Check::new("died", died == 0, format!("{died} died")),
            Check::new(
                "state",
                self.puts_acked > 0,
                format!("{} puts acknowledged", self.puts_acked),
            ),
            Check::new(
                "gets answered",
                unanswered_gets as f64 <= 0.5 * self.gets_generated as f64,
                format!("{unanswered_gets} of {} unanswered", self.gets_generated),
            ),
            Check::new(
                "puts answered",
                unanswered_puts as f64 <= 0.5 * self.puts_generated as f64,
                format!("{unanswered_puts} of {} unanswered", self.puts_generated),
            ),
            Check::new(
                "gets generated",
                self.get_generation_failures as f64
                    <= c.maximum_get_generation_fail_fraction * self.gets_generated as f64,
                format!("{} failed to generate", self.get_generation_failures),
            ),
            Check::new(
                "traffic",
                total_msgs as f64 >= traffic_floor,
                format!("{total_msgs} messages, floor {traffic_floor:.0}"),
            ),
        ];
        let failures = self.fails + self.waiting.len() as u64;
        let median_latency = median(&self.latencies);
        let b = &c.tests.benchmarks;
        let tiers = [
            tier(total_msgs as f64, b.total_msgs),
            tier(failures as f64, b.failures),
            tier(self.duplicates as f64, b.duplicates),
            tier(median_latency, b.median_latency),
        ];
        Score {
            passed: checks.iter().all(|c| c.ok),
            checks,
            total_msgs,
            failures,
            duplicates: self.duplicates,
            median_latency,
            tiers,
            get_latency: median(&self.get_latencies),
            put_latency: median(&self.put_latencies),
            incorrect_examples: self.incorrect_examples.clone(),
        }
    }
}

/// A correctness check of the grader's table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

impl Check {
    fn new(name: &'static str, ok: bool, detail: String) -> Self {
        Check { name, ok, detail }
    }
}

/// What the grader reports for one run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Score {
    pub passed: bool,
    pub checks: Vec<Check>,
    pub total_msgs: u64,
    pub failures: u64,
    pub duplicates: u64,
    /// Seconds.
    pub median_latency: f64,
    /// Per metric: 0 bonus, 1 full credit, 2 partial, 3 none.
    pub tiers: [u8; 4],
    /// Medians of `ok` answers alone, seconds.
    pub get_latency: f64,
    pub put_latency: f64,
    pub incorrect_examples: Vec<String>,
}

pub const TIER_NAMES: [&str; 4] = ["bonus", "full", "partial", "none"];
pub const METRICS: [&str; 4] = ["total_msgs", "failures", "duplicates", "median_latency"];

/// 0 if `value < a`, 1 if `< b`, 2 if `< c`, else 3.
pub fn tier(value: f64, bounds: [f64; 3]) -> u8 {
    bounds.iter().position(|&b| value < b).unwrap_or(3) as u8
}

/// The median in seconds (the mean of the middle two for an even count).
pub fn median(values: &[Time]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_unstable();
    let n = v.len();
    let mid = if n % 2 == 1 {
        v[n / 2] as f64
    } else {
        (v[n / 2 - 1] + v[n / 2]) as f64 / 2.0
    };
    mid / SECOND
}

/// Options of a simulated grader run.
#[derive(Clone, Debug)]
pub struct SimOptions {
    pub seed: u64,
    pub raft: Config,
    pub latency: (Time, Time),
    pub check_invariants: bool,
    pub trace: bool,
    /// Replicas pace their datagrams ([`crate::pace`]); off shows what
    /// bursts do to the grader's sockets.
    pub pace: bool,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            seed: 1,
            raft: Config::default(),
            latency: ClusterOptions::default().latency,
            check_invariants: true,
            trace: false,
            pace: true,
        }
    }
}

/// The outcome of one run: the grader's score, plus this project's own
/// checks (the safety invariants can only be watched in the simulator).
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    pub name: String,
    pub seed: u64,
    pub score: Score,
    /// The first broken safety property, if any.
    pub violation: Option<String>,
    /// `Err` names a key whose history has no linearization.
    pub linearizable: Result<(), String>,
    /// Every answer against what the stores applied ([`Ledger::check`]);
    /// the simulator only (over UDP the stores cannot be seen).
    pub answers: Result<(), String>,
    /// Seconds of (virtual or wall-clock) time the run covered.
    pub virtual_seconds: f64,
    /// Events simulated, or datagrams routed over UDP.
    pub events: u64,
    pub packet_storm: bool,
    /// Over UDP: datagrams the kernel dropped because a socket's receive
    /// buffer was full, `(at the grader's sockets, at the replicas')`, read
    /// from `/proc/net/udp` at the end of the run (live sockets only).
    pub socket_drops: Option<(u64, u64)>,
    #[serde(skip)]
    pub trace: Vec<String>,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.score.passed
            && self.violation.is_none()
            && self.linearizable.is_ok()
            && self.answers.is_ok()
    }
}

/// Runs one grader config on the simulator.
pub fn run_sim(config: &GraderConfig, options: &SimOptions) -> Result<Outcome, String> {
    let mut cluster = Cluster::new(ClusterOptions {
        nodes: config.replicas,
        seed: options.seed,
        raft: options.raft.clone(),
        latency: options.latency,
        drop_rate: config.drops,
        check_invariants: options.check_invariants,
        trace: options.trace,
        pace: options.pace,
        grader_socket: Some(GraderSocket::COURSE),
        ..ClusterOptions::default()
    })?;
    let mut workload = Workload::new(config, options.seed);
    let mut faults = workload.faults().into_iter().peekable();
    let end = workload.end_time();
    let mut packet_storm = false;
    loop {
        if cluster.stats.replica_messages >= config.max_packets {
            packet_storm = true;
            break;
        }
        let next_op = workload.next_op_time().unwrap_or(Time::MAX);
        let next_fault = faults.peek().map_or(Time::MAX, |f| f.0);
        let next_event = cluster.next_time().unwrap_or(Time::MAX);
        let next = next_op.min(next_fault).min(next_event);
        if next > end {
            break;
        }
        if next_event == next {
            if let Some(d) = cluster.step() {
                let alive = cluster.alive();
                if let Some((to, request)) =
                    workload.on_response(cluster.now(), d.from, d.response, &alive)
                {
                    cluster.request(to, request);
                }
            }
        } else if next_fault == next {
            cluster.run_until(next);
            let (_, kind) = faults.next().unwrap();
            apply_fault(&mut cluster, &mut workload, kind)?;
        } else {
            cluster.run_until(next);
            if let Some((to, request)) = workload.generate(next, &cluster.alive()) {
                cluster.request(to, request);
            }
        }
    }
    cluster.run_until(end);
    let score = workload.score(cluster.stats.replica_messages, 0);
    // Answers still on their way at the end count for the ledger only.
    for late in cluster.run_until(end + SETTLE) {
        workload.late_answer(&late.response);
    }
    let store = (0..config.replicas as NodeId)
        .filter_map(|i| cluster.node(i))
        .max_by_key(|n| n.commit_index())
        .map(|n| n.state_machine());
    let answers = store.map_or(Ok(()), |s| workload.check_answers(s));
    Ok(Outcome {
        name: config.name.clone(),
        seed: options.seed,
        score,
        violation: cluster.violation().map(str::to_string),
        linearizable: linearizability::check(&workload.history()),
        answers,
        virtual_seconds: end as f64 / SECOND,
        events: cluster.stats.events,
        packet_storm,
        socket_drops: None,
        trace: cluster.trace().iter().map(|e| e.to_string()).collect(),
    })
}

/// What the fault events need of a cluster, simulated or real.
pub trait Replicas {
    /// The `leader` field of the latest message a replica sent (from the
    /// majority side while partitioned).
    fn reported_leader(&self) -> Option<NodeId>;
    fn alive(&self) -> Vec<NodeId>;
    fn kill(&mut self, id: NodeId) -> Result<(), String>;
    /// Cuts `majority` off from the other replicas.
    fn split(&mut self, majority: Vec<NodeId>) -> Result<(), String>;
    fn heal(&mut self);
}

impl Replicas for Cluster {
    fn reported_leader(&self) -> Option<NodeId> {
        Cluster::reported_leader(self)
    }
    fn alive(&self) -> Vec<NodeId> {
        Cluster::alive(self)
    }
    fn kill(&mut self, id: NodeId) -> Result<(), String> {
        self.crash(id)
    }
    fn split(&mut self, majority: Vec<NodeId>) -> Result<(), String> {
        self.partition(&[majority])
    }
    fn heal(&mut self) {
        Cluster::heal(self)
    }
}

/// Carries out one fault event of the grader's timeline.
pub fn apply_fault(
    replicas: &mut impl Replicas,
    workload: &mut Workload,
    kind: FaultKind,
) -> Result<(), String> {
    let leader = replicas.reported_leader();
    match kind {
        FaultKind::KillLeader => {
            if let Some(l) = leader.filter(|l| replicas.alive().contains(l)) {
                replicas.kill(l)?;
            }
            workload.forget_leader();
        }
        FaultKind::KillNonLeader => {
            if let Some(victim) = workload.pick(&replicas.alive(), leader) {
                replicas.kill(victim)?;
            }
        }
        FaultKind::PartEasy => {
            let group = workload.majority_group(leader);
            replicas.split(group)?;
        }
        FaultKind::PartHard => {
            let group = workload.majority_group(None);
            replicas.split(group)?;
            workload.forget_leader();
        }
        FaultKind::PartEnd => replicas.heal(),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_follow_the_bounds() {
        assert_eq!(tier(999.0, [1000.0, 3000.0, 4000.0]), 0);
        assert_eq!(tier(1000.0, [1000.0, 3000.0, 4000.0]), 1);
        assert_eq!(
            tier(0.0, [0.0, 2.0, 5.0]),
            1,
            "a bound of 0 cannot be beaten"
        );
        assert_eq!(tier(5.0, [0.0, 2.0, 5.0]), 3);
    }

    #[test]
    fn median_of_odd_and_even() {
        assert_eq!(median(&[3, 1, 2]), 2e-6);
        assert_eq!(median(&[4, 1, 2, 3]), 2.5e-6);
        assert_eq!(median(&[]), 0.0);
    }

    #[test]
    fn md5_matches_the_reference() {
        assert_eq!(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
    }
}
