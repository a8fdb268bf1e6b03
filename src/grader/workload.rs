//! The grader's eight clients, as in `PROTOCOL.md` ("The clients"),
//! independent of how requests reach the replicas.
//!
//! [`Workload`] is three parts, one per concern:
//! - [`Clients`]: who asks what, where each request goes, and which MIDs are
//!   awaited (the only part that draws from the workload's RNG);
//! - [`Tally`]: the counts and latencies the grader scores;
//! - [`History`]: every operation and the MIDs it took, for the
//!   linearizability check, the ledger of answers, and explaining a wrong get.
//!
//! A driver moves requests and responses: the simulator
//! ([`super::run::run_sim`]) or real UDP processes (`gradesim udp`). Both
//! call the same methods in the same way.

mod clients;

use super::config::GraderConfig;
use super::score::{Check, Metric, Score, Tier, course_median, median};
use crate::kv::{ClientId, Op, Reply, Request, Response, Store};
use crate::raft::NodeId;
use crate::raft::time::{self, Time};
use crate::sim::answers::Ledger;
use crate::sim::linearizability::Operation;
pub use clients::Clients;
use clients::Waiting;
use md5::{Digest, Md5};
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::collections::BTreeMap;

/// The number of clients (`PROTOCOL.md`, "The clients").
pub const CLIENTS: usize = 8;
/// Client IDs start this far above the replica count (`PROTOCOL.md`,
/// "Launch": `0015`..`001C` for five replicas).
const FIRST_CLIENT_OFFSET: ClientId = 16;
/// Keys are 32 characters from this alphabet (`PROTOCOL.md`, "The clients").
const KEY_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const KEY_LENGTH: usize = 32;
/// A put reuses one of its client's keys half of the time.
const REUSE_KEY: f64 = 0.5;
/// At most one of "unanswered gets" and "unanswered puts" may be this share
/// of those generated (`PROTOCOL.md`, "Scoring": `<= 0.5 x generated`).
const UNANSWERED_SHARE: f64 = 0.5;
/// The traffic floor is this share of `requests x replicas x (1 - mix)`.
const TRAFFIC_SHARE: f64 = 0.5;
/// Salt of the workload's RNG, so that it draws apart from the cluster's.
const RNG_SALT: u64 = 0x5EED_C11E;
/// Wrong gets quoted in full in the score.
const EXAMPLES: usize = 5;

/// The lowercase hexadecimal MD5 of `text`.
pub fn md5_hex(text: &str) -> String {
    Md5::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn reply_name(reply: &Reply) -> &'static str {
    match reply {
        Reply::Ok { .. } => "ok",
        Reply::Redirect => "redirect",
        Reply::Fail => "fail",
    }
}

/// The counts the grader scores.
#[derive(Default)]
pub struct Tally {
    latencies: Vec<Time>,
    get_latencies: Vec<Time>,
    put_latencies: Vec<Time>,
    incorrect: u64,
    incorrect_examples: Vec<String>,
    fails: u64,
    duplicates: u64,
    gets_generated: u64,
    puts_generated: u64,
    get_generation_failures: u64,
    puts_acked: u64,
}

impl Tally {
    fn incorrect(&mut self, why: String) {
        self.incorrect += 1;
        if self.incorrect_examples.len() < EXAMPLES {
            self.incorrect_examples.push(why);
        }
    }
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
        let sent = time::as_secs(self.sent);
        let to = self.to + 1;
        match &self.reply {
            None => format!("MID {} to S{to} at {sent:.3} s: unanswered", self.mid),
            Some((at, from, reply)) => format!(
                "MID {} to S{to} at {sent:.3} s: {} from S{} at {:.3} s",
                self.mid,
                reply_name(reply),
                from + 1,
                time::as_secs(*at)
            ),
        }
    }
}

/// Every operation and every answer, for the checks after the run.
#[derive(Default)]
pub struct History {
    ops: Vec<OpRecord>,
    /// Every MID and its answers, for the check against the stores.
    ledger: Ledger,
}

impl History {
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
    pub fn operations(&self) -> Vec<Operation> {
        self.ops
            .iter()
            .filter_map(|o| {
                let (put, result) = (o.put.as_ref(), o.result.as_ref());
                Operation::of(&o.key, put, o.invoke, o.response, result)
            })
            .collect()
    }

    /// Checks every answer against `store` (see [`Ledger::check`]).
    pub fn check_answers(&self, store: &Store) -> Result<(), String> {
        self.ledger.check(store, true).map_err(|b| b.to_string())
    }
}

/// What the grader made of an answer (for a recording of the run).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// `ok`, and for a get the value expected.
    Ok,
    /// A get that returned another value than the last acknowledged put's.
    WrongValue {
        got: String,
        expected: String,
    },
    /// Another `ok` to a MID already acknowledged.
    Duplicate,
    Redirect,
    Fail,
    /// An answer the grader counts as incorrect for another reason.
    Incorrect {
        why: String,
    },
    /// Still awaited when the run ended.
    Unanswered,
}

/// One verdict, with when and for which MID.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Judged {
    /// When, µs from the start (`t`, as every line of a recording).
    #[serde(rename = "t")]
    pub at: Time,
    pub mid: String,
    #[serde(flatten)]
    pub verdict: Verdict,
}

/// The grader's clients, tallies and history for one run.
pub struct Workload {
    clients: Clients,
    tally: Tally,
    history: History,
    /// Verdicts since the last [`Workload::take_verdicts`].
    verdicts: Vec<Judged>,
}

impl Workload {
    pub fn new(config: &GraderConfig, seed: u64) -> Self {
        Workload {
            clients: Clients::new(config, seed),
            tally: Tally::default(),
            history: History::default(),
            verdicts: Vec::new(),
        }
    }

    fn config(&self) -> &GraderConfig {
        &self.clients.config
    }

    pub fn tally(&self) -> &Tally {
        &self.tally
    }

    pub fn history(&self) -> &History {
        &self.history
    }

    pub fn client_ids(&self) -> Vec<ClientId> {
        self.clients.clients.iter().map(|c| c.id).collect()
    }

    /// When the next operation is due: `requests` spread evenly over
    /// `lifetime`, after `start_wait`.
    pub fn next_op_time(&self) -> Option<Time> {
        let c = self.config();
        let n = self.clients.next_op;
        (n < c.requests)
            .then(|| time::from_secs(c.start_wait + n as f64 * c.lifetime / c.requests as f64))
    }

    /// The fault events, in time from the start of the run.
    pub fn faults(&self) -> Vec<(Time, super::config::FaultKind)> {
        let c = self.config();
        let mut v: Vec<_> = c
            .events
            .iter()
            .map(|e| (time::from_secs(c.start_wait + e.time), e.kind))
            .collect();
        v.sort_by_key(|(t, _)| *t);
        v
    }

    pub fn end_time(&self) -> Time {
        time::from_secs(self.config().duration())
    }

    /// All clients forget the leader (after `kill_leader` and `part_hard`).
    pub fn forget_leader(&mut self) {
        for c in &mut self.clients.clients {
            c.leader = None;
        }
    }

    /// The group of `replicas / 2 + 1` replicas a partition keeps together:
    /// with `leader` in it for `part_easy`, at random otherwise.
    pub fn majority_group(&mut self, leader: Option<NodeId>) -> Vec<NodeId> {
        let n = self.config().replicas;
        let mut others: Vec<NodeId> = (0..n as NodeId).filter(|&i| Some(i) != leader).collect();
        others.shuffle(&mut self.clients.rng);
        let mut group: Vec<NodeId> = leader.into_iter().collect();
        group.extend(others.into_iter().take(n / 2 + 1 - group.len()));
        group.sort_unstable();
        group
    }

    /// A random live replica other than `except`.
    pub fn pick(&mut self, alive: &[NodeId], except: Option<NodeId>) -> Option<NodeId> {
        self.clients.pick(alive, except)
    }

    /// Creates the next operation; returns the replica to send it to.
    pub fn generate(&mut self, now: Time, alive: &[NodeId]) -> Option<(NodeId, Request)> {
        self.clients.next_op += 1;
        let (ci, wanted_get, op) = self.clients.draw();
        // As the course's simulator counts: by the kind planned, a get
        // that had no key to read (and went out as a put) included.
        if wanted_get {
            self.tally.gets_generated += 1;
            self.tally.get_generation_failures += u64::from(matches!(op, Op::Put { .. }));
        } else {
            self.tally.puts_generated += 1;
        }
        let (key, put) = match &op {
            Op::Get { key } => (key.clone(), None),
            Op::Put { key, value } => (key.clone(), Some(value.clone())),
        };
        self.history.ops.push(OpRecord {
            key,
            put,
            invoke: now,
            response: None,
            result: None,
            attempts: Vec::new(),
        });
        let target = self.clients.target(ci, None, alive)?;
        Some((
            target,
            self.issue(now, ci, self.history.ops.len() - 1, op, target),
        ))
    }

    fn issue(&mut self, now: Time, ci: usize, op: usize, what: Op, to: NodeId) -> Request {
        let request = self.clients.issue(now, ci, op, what);
        let put = self.history.ops[op].put.is_some();
        self.history
            .ledger
            .issued(request.client, &request.mid, op, put, now);
        self.history.ops[op].attempts.push(Attempt {
            mid: request.mid.clone(),
            to,
            sent: now,
            reply: None,
        });
        request
    }

    /// Counts a malformed message from a replica (over UDP).
    pub fn malformed(&mut self, why: String) {
        self.tally.incorrect(format!("malformed message: {why}"));
    }

    /// The verdicts since the last call, oldest first.
    pub fn take_verdicts(&mut self) -> Vec<Judged> {
        std::mem::take(&mut self.verdicts)
    }

    /// The MIDs still awaited, as verdicts at `now` (the end of the run).
    pub fn unanswered(&self, now: Time) -> Vec<Judged> {
        let waiting = self.clients.waiting.keys();
        let judged = |mid: &String| Judged {
            at: now,
            mid: mid.clone(),
            verdict: Verdict::Unanswered,
        };
        waiting.map(judged).collect()
    }

    fn judge(&mut self, at: Time, mid: &str, verdict: Verdict) {
        let mid = mid.to_string();
        self.verdicts.push(Judged { at, mid, verdict });
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
        let before = self.history.ledger.answered(client, &mid, &reply);
        let Some(ci) = self.clients.clients.iter().position(|c| c.id == client) else {
            let why = format!("response to unknown client {client}");
            self.judge(now, &mid, Verdict::Incorrect { why: why.clone() });
            self.tally.incorrect(why);
            return None;
        };
        let Some(w) = self.clients.waiting.remove(&mid) else {
            self.on_unawaited(now, &mid, before.is_some_and(|r| r.oks > 0), &reply);
            return None;
        };
        if w.client != ci {
            let why = format!("MID {mid} answered to the wrong client {client}");
            self.judge(now, &mid, Verdict::Incorrect { why: why.clone() });
            self.tally.incorrect(why);
            return None;
        }
        let record = &mut self.history.ops[w.op];
        if let Some(a) = record.attempts.iter_mut().find(|a| a.mid == mid) {
            a.reply = Some((now, from, reply.clone()));
        }
        let latency = now - w.created;
        self.tally.latencies.push(latency);
        self.clients.clients[ci].leader = leader;
        match reply {
            Reply::Ok { value } => {
                self.on_ok(now, ci, w.op, value, latency, &mid);
                None
            }
            refused => {
                if refused == Reply::Fail {
                    self.tally.fails += 1;
                    self.judge(now, &mid, Verdict::Fail);
                } else {
                    self.judge(now, &mid, Verdict::Redirect);
                }
                self.retry(now, ci, w.op, leader, alive)
            }
        }
    }

    /// A response to a MID no client waits for: a duplicate `ok` after an
    /// `ok`, nothing after another answer, else an incorrect response.
    fn on_unawaited(&mut self, now: Time, mid: &str, had_ok: bool, reply: &Reply) {
        match (had_ok, reply) {
            (true, Reply::Ok { .. }) => {
                self.judge(now, mid, Verdict::Duplicate);
                self.tally.duplicates += 1
            }
            (true, _) => {}
            _ => {
                let why = format!("response {reply:?} to MID {mid} not awaited");
                self.judge(now, mid, Verdict::Incorrect { why: why.clone() });
                self.tally.incorrect(why)
            }
        }
    }

    /// Operation `op` of client `ci` was refused: sent again under a new
    /// MID, to the leader named or another live replica.
    fn retry(
        &mut self,
        now: Time,
        ci: usize,
        op: usize,
        leader: Option<NodeId>,
        alive: &[NodeId],
    ) -> Option<(NodeId, Request)> {
        let record = &self.history.ops[op];
        let what = Op::on(&record.key, record.put.as_ref());
        let target = self.clients.target(ci, leader, alive)?;
        Some((target, self.issue(now, ci, op, what, target)))
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
        let record = &mut self.history.ops[op];
        record.response = Some(now);
        let key = record.key.clone();
        match record.put.clone() {
            Some(put) => {
                self.judge(now, mid, Verdict::Ok);
                self.tally.put_latencies.push(latency);
                self.tally.puts_acked += 1;
                let client = &mut self.clients.clients[ci];
                if client.acked.insert(key.clone(), put).is_none() {
                    client.acked_keys.push(key);
                }
            }
            None => {
                self.tally.get_latencies.push(latency);
                let client = &self.clients.clients[ci];
                let expected = client.acked.get(&key).cloned().unwrap_or_default();
                let got = value.unwrap_or_default();
                self.history.ops[op].result = Some(got.clone());
                let verdict = if got == expected {
                    Verdict::Ok
                } else {
                    Verdict::WrongValue {
                        got: got.clone(),
                        expected: expected.clone(),
                    }
                };
                self.judge(now, mid, verdict);
                if got != expected {
                    let source = self.history.explain_value(&key, &got);
                    self.tally.incorrect(format!(
                        "get {key} (MID {mid}) returned {got:?}, last acknowledged put was {expected:?}{source}"
                    ));
                }
            }
        }
    }

    /// Records an answer that reached its client after the run was scored.
    pub fn late_answer(&mut self, response: &Response) {
        self.history
            .ledger
            .answered(response.client, &response.mid, &response.reply);
    }

    /// Scores the run as the grader does.
    pub fn score(&self, total_msgs: u64, died: u64) -> Score {
        let t = &self.tally;
        let waiting = &self.clients.waiting;
        let checks = self.checks(total_msgs, died);
        let secs = |v: &[Time]| median(v.iter().map(|&t| time::as_secs(t)));
        let mut score = Score {
            passed: checks.iter().all(|c| c.ok),
            checks,
            total_msgs,
            failures: t.fails + waiting.len() as u64,
            duplicates: t.duplicates,
            median_latency: course_median(t.latencies.iter().map(|&t| time::as_secs(t))),
            tiers: [Tier::None; 4],
            get_latency: secs(&t.get_latencies),
            put_latency: secs(&t.put_latencies),
            incorrect_examples: t.incorrect_examples.clone(),
        };
        let bounds = &self.config().tests.benchmarks;
        for m in Metric::ALL {
            score.tiers[m as usize] = Tier::of(score.value(m), m.bounds(bounds));
        }
        score
    }

    /// The grader's pass/fail checks of the run.
    fn checks(&self, total_msgs: u64, died: u64) -> Vec<Check> {
        let t = &self.tally;
        let waiting = &self.clients.waiting;
        let is_get = |w: &&Waiting| self.history.ops[w.op].put.is_none();
        let unanswered_gets = waiting.values().filter(is_get).count() as u64;
        let unanswered_puts = waiting.len() as u64 - unanswered_gets;
        let c = self.config();
        let traffic_floor = c.requests as f64 * c.replicas as f64 * (1.0 - c.mix) * TRAFFIC_SHARE;
        let share = |n: u64| UNANSWERED_SHARE * n as f64;
        // The course's simulator plans every request when the run starts
        // and counts them all as generated, those a run stopped early (a
        // packet storm) never sent included: here the unsent ones count by
        // the config's mix.
        let unsent = c.requests.saturating_sub(self.clients.next_op);
        let unsent_gets = (unsent as f64 * c.mix).round() as u64;
        let gets_generated = t.gets_generated + unsent_gets;
        let puts_generated = t.puts_generated + unsent - unsent_gets;
        vec![
            Check::new(
                "incorrect",
                t.incorrect == 0,
                format!("{} incorrect", t.incorrect),
            ),
            Check::new("died", died == 0, format!("{died} died")),
            Check::new(
                "state",
                t.puts_acked > 0,
                format!("{} puts acknowledged", t.puts_acked),
            ),
            Check::new(
                "gets answered",
                unanswered_gets as f64 <= share(gets_generated),
                format!("{unanswered_gets} of {gets_generated} unanswered"),
            ),
            Check::new(
                "puts answered",
                unanswered_puts as f64 <= share(puts_generated),
                format!("{unanswered_puts} of {puts_generated} unanswered"),
            ),
            Check::new(
                "gets generated",
                t.get_generation_failures as f64
                    <= c.get_generation_fail_fraction() * gets_generated as f64,
                format!("{} failed to generate", t.get_generation_failures),
            ),
            Check::new(
                "traffic",
                total_msgs as f64 >= traffic_floor,
                format!("{total_msgs} messages, floor {traffic_floor:.0}"),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run a packet storm stops early: the course's simulator planned
    /// every request at the start and counts them all as generated, so a
    /// replica that answered nothing of the few it was sent still passes
    /// "answered" when those few are under half of all planned.
    #[test]
    fn requests_never_sent_count_as_generated() {
        let text = r#"{"lifetime": 30, "replicas": 3, "requests": 200, "mix": 0.5,
            "tests": {"benchmarks": {"total_msgs": [1, 2, 3], "failures": [1, 2, 3],
            "duplicates": [1, 2, 3], "median_latency": [1, 2, 3]}}}"#;
        let config = GraderConfig::parse("early-stop", text).unwrap();
        let mut w = Workload::new(&config, 1);
        for i in 0..30 {
            w.generate(time::from_secs(5.0 + i as f64 * 0.15), &[0, 1, 2]);
        }
        let score = w.score(10_000, 0);
        // "X of Y unanswered", as numbers, and whether the check passed.
        let check = |name: &str| {
            let c = score.checks.iter().find(|c| c.name == name).unwrap();
            let words: Vec<&str> = c.detail.split(' ').collect();
            (
                words[0].parse::<u64>().unwrap(),
                words[2].parse::<u64>().unwrap(),
                c.ok,
            )
        };
        let (gets, puts) = (check("gets answered"), check("puts answered"));
        // 30 were sent and none answered; the 170 never sent count too.
        assert_eq!(gets.0 + puts.0, 30);
        assert_eq!(gets.1 + puts.1, 200);
        assert!(gets.2 && puts.2, "{gets:?} {puts:?}");
    }

    #[test]
    fn md5_matches_the_reference() {
        assert_eq!(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
    }
}
