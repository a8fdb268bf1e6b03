//! The playground's model: a simulated cluster a student drives by hand,
//! with a client, an automatic workload, and replay.
//!
//! Owns the cluster, the user's actions stamped with when they happened, and
//! compact views of what the page draws. A run is fully described by its
//! [`PlaygroundOptions`] and its actions, so seeking back rebuilds the cluster
//! and replays them; acting in the past forks the run (the later actions are
//! discarded). Knows nothing of JavaScript or the canvas: `src/playground/wasm.rs` wraps
//! it for the browser, and native tests drive it directly.

mod stepwise;
mod views;

use super::checks::{self, History};
use crate::kv::{Op, Reply, Request, Response};
use crate::raft::Bug;
use crate::raft::time::{self, Time};
use crate::raft::{Config, Fanout, NodeId, ReadMode, Term};
use crate::sim::{Cluster, ClusterOptions};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
pub use stepwise::{Choice, Plan, PlanStep, Progress, plan, search_options};
pub use views::{
    EventCategory, EventView, LogChange, MessageView, NodeView, ProgressView, flight_views,
    node_views,
};

/// Salt of the automatic workload's RNG, so that it draws apart from the
/// cluster's (seeded with the same run seed).
const AUTO_RNG_SALT: u64 = 0xC11E;

/// Everything that shapes a run, besides the user's actions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlaygroundOptions {
    pub nodes: usize,
    pub seed: u64,
    pub latency_min_ms: f64,
    pub latency_max_ms: f64,
    pub drop_rate: f64,
    pub election_timeout_min_ms: f64,
    pub election_timeout_max_ms: f64,
    pub heartbeat_ms: f64,
    pub pre_vote: bool,
    pub check_quorum: bool,
    /// `"lease"` or `"read_index"`.
    pub read_mode: ReadMode,
    /// `"quorum"` or `"all"`.
    pub fanout: Fanout,
    /// Operations per virtual second of the automatic workload.
    pub auto_rate: f64,
    /// Beyond the paper, each on in the course replica and off in the
    /// "paper" preset: the vote guard, forwarding a deposed leader's
    /// overwritten commands, probing a silent leader.
    pub vote_guard: bool,
    pub forward: bool,
    pub probe: bool,
    /// Entries per AppendEntries at most (1 sends a new leader's no-op
    /// apart from older entries, so Figure 8's panel (d) can happen).
    pub batch: usize,
    /// A bug hunt: this number picks one of the core's planted bugs
    /// ([`Bug::ALL`]) and the page does not say which until a light turns
    /// red or the student gives up. The replica can never run one.
    pub hunt: Option<u32>,
    /// How long a node waits for an answer before it sends again; `None`:
    /// three of the slowest hops (a counterexample of `gradesim explore`
    /// sets the replica's own).
    pub retry_ms: Option<f64>,
}

impl Default for PlaygroundOptions {
    /// Slow enough to watch: hops of 12 to 24 ms, heartbeats every 150 ms,
    /// elections after 0.5 to 1 s of silence.
    fn default() -> Self {
        PlaygroundOptions {
            nodes: 5,
            seed: 1,
            latency_min_ms: 12.0,
            latency_max_ms: 24.0,
            drop_rate: 0.0,
            election_timeout_min_ms: 500.0,
            election_timeout_max_ms: 1_000.0,
            heartbeat_ms: 150.0,
            pre_vote: true,
            check_quorum: true,
            read_mode: ReadMode::Lease,
            fanout: Fanout::Quorum,
            auto_rate: 4.0,
            vote_guard: true,
            forward: true,
            probe: true,
            batch: Config::default().max_append_entries,
            hunt: None,
            retry_ms: None,
        }
    }
}

fn micros(ms: f64) -> Time {
    time::from_millis(ms)
}

/// One hop of a message takes between these many ms: fast enough to be a
/// network, slow enough that a message can be seen, and never so long that
/// a run stops moving.
pub const LATENCY_MS: (f64, f64) = (1.0, 10_000.0);
/// Election timeouts and heartbeats, ms.
pub const TIMER_MS: (f64, f64) = (1.0, 60_000.0);
/// The automatic workload, operations per virtual second.
pub const AUTO_RATE: (f64, f64) = (0.1, 1_000.0);

/// `value` (in `unit`) if it is a number within `bounds`, else an error
/// that names the option, the bounds and what was given, in that unit.
fn within(name: &str, value: f64, (min, max): (f64, f64), unit: &str) -> Result<f64, String> {
    if value.is_finite() && (min..=max).contains(&value) {
        Ok(value)
    } else {
        let got = shown(value);
        Err(format!(
            "{name} must be between {min} and {max} {unit}, got {got} {unit}"
        ))
    }
}

/// A number as a person would write it: `1e300`, not three hundred digits.
fn shown(v: f64) -> String {
    let tiny = v != 0.0 && v.abs() < 1e-6;
    if v.is_finite() && (v.abs() >= 1e9 || tiny) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

/// A latency range in ms, checked.
fn latency_range(min_ms: f64, max_ms: f64) -> Result<(Time, Time), String> {
    let min = within("the minimum latency", min_ms, LATENCY_MS, "ms")?;
    let max = within("the maximum latency", max_ms, LATENCY_MS, "ms")?;
    if min > max {
        return Err(format!(
            "the minimum latency ({min} ms) must not exceed the maximum ({max} ms)"
        ));
    }
    Ok((micros(min), micros(max)))
}

impl PlaygroundOptions {
    /// The bug a hunt planted, if one.
    pub fn hunted(&self) -> Option<Bug> {
        self.hunt.map(|h| Bug::ALL[h as usize % Bug::ALL.len()])
    }

    /// The `hunt` number that plants `bug`.
    pub fn hunt_for(bug: Bug) -> u32 {
        Bug::ALL
            .iter()
            .position(|&b| b == bug)
            .expect("every bug is in ALL") as u32
    }

    pub(crate) fn cluster_options(&self) -> Result<ClusterOptions, String> {
        if !(3..=9).contains(&self.nodes) {
            return Err(format!("nodes must be between 3 and 9, got {}", self.nodes));
        }
        within("auto_rate", self.auto_rate, AUTO_RATE, "operations/s")?;
        within(
            "election_timeout_min_ms",
            self.election_timeout_min_ms,
            TIMER_MS,
            "ms",
        )?;
        within(
            "election_timeout_max_ms",
            self.election_timeout_max_ms,
            TIMER_MS,
            "ms",
        )?;
        within("heartbeat_ms", self.heartbeat_ms, TIMER_MS, "ms")?;
        if !(1..=1_000).contains(&self.batch) {
            return Err(format!(
                "batch must be between 1 and 1000 entries, got {}",
                self.batch
            ));
        }
        let latency = latency_range(self.latency_min_ms, self.latency_max_ms)?;
        let retry_timeout = match self.retry_ms {
            Some(ms) => micros(within("retry_ms", ms, TIMER_MS, "ms")?),
            None => (latency.1 * 3).max(1),
        };
        let raft = Config {
            election_timeout_min: micros(self.election_timeout_min_ms),
            election_timeout_max: micros(self.election_timeout_max_ms),
            heartbeat_interval: micros(self.heartbeat_ms),
            retry_timeout,
            pre_vote: self.pre_vote,
            check_quorum: self.check_quorum,
            read_mode: self.read_mode,
            fanout: self.fanout,
            bug: self.hunted(),
            vote_guard: self.vote_guard,
            forward: self.forward,
            probe: self.probe,
            max_append_entries: self.batch,
            ..Config::default()
        };
        let options = ClusterOptions {
            nodes: self.nodes,
            seed: self.seed,
            raft,
            latency,
            drop_rate: self.drop_rate,
            check_invariants: true,
            trace: true,
            ..ClusterOptions::default()
        };
        options.validate()?;
        Ok(options)
    }
}

/// Something the user did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case")]
pub enum Action {
    Crash {
        node: NodeId,
    },
    Restart {
        node: NodeId,
    },
    Timeout {
        node: NodeId,
    },
    Put {
        key: String,
        value: String,
        node: Option<NodeId>,
    },
    Get {
        key: String,
        node: Option<NodeId>,
    },
    Auto {
        on: bool,
    },
    Partition {
        groups: Vec<Vec<NodeId>>,
    },
    Heal,
    DropRate {
        rate: f64,
    },
    Latency {
        min_ms: f64,
        max_ms: f64,
    },
    /// Drop one message in flight (`sent_ms`: when it was sent).
    DropMessage {
        from: NodeId,
        to: NodeId,
        sent_ms: f64,
    },
    /// Cut one direction of one link, until the next heal.
    Cut {
        from: NodeId,
        to: NodeId,
    },
    /// Explore mode on or off: time stands still and every event is
    /// chosen ([`Action::Choose`]); `link_capacity`: at most this many
    /// messages wait on one link (the oldest is pushed out).
    Explore {
        on: bool,
        #[serde(default)]
        link_capacity: Option<usize>,
    },
    /// One event chosen in explore mode: the explorer's own events.
    Choose {
        event: crate::explore::Event,
    },
}

/// An action with the moment it happened: the virtual time, and how many
/// simulation steps had run (several can share one instant).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stamped {
    pub time: Time,
    pub steps: u64,
    pub action: Action,
}

/// A run, as a link stores it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub version: u32,
    pub options: PlaygroundOptions,
    pub actions: Vec<Stamped>,
    pub time: Time,
}

pub const RECORD_VERSION: u32 = 1;

/// The settings the user can change while a run goes on, as they are at
/// the moment shown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub drop_rate: f64,
    pub latency_min_ms: f64,
    pub latency_max_ms: f64,
    pub auto: bool,
}

const EVENT_LOG: usize = 400;

struct AutoClient {
    on: bool,
    next_at: Time,
    counter: u64,
}

pub struct Playground {
    /// How many events to keep (the page shows the latest few hundred).
    event_limit: usize,
    options: PlaygroundOptions,
    cluster: Cluster,
    rng: ChaCha8Rng,
    actions: Vec<Stamped>,
    /// How many of `actions` are in effect at the current moment.
    applied: usize,
    steps: u64,
    horizon: Time,
    auto: AutoClient,
    next_mid: u64,
    events: VecDeque<EventView>,
    unread: usize,
    mirrors: Vec<Vec<Term>>,
    /// How many of the cluster's violations the events list already has.
    violations_reported: usize,
    /// The client's operations (to re-send a redirected one, and for the
    /// Linearizability light).
    history: History,
    /// Explore mode, while it is on.
    stepwise: Option<stepwise::Stepwise>,
}

impl Playground {
    pub fn new(options: PlaygroundOptions) -> Result<Self, String> {
        let cluster = Cluster::new(options.cluster_options()?)?;
        let mirrors = vec![Vec::new(); options.nodes];
        Ok(Playground {
            event_limit: EVENT_LOG,
            rng: ChaCha8Rng::seed_from_u64(options.seed ^ AUTO_RNG_SALT),
            options,
            cluster,
            actions: Vec::new(),
            applied: 0,
            steps: 0,
            horizon: 0,
            auto: AutoClient {
                on: false,
                next_at: 0,
                counter: 0,
            },
            next_mid: 0,
            events: VecDeque::new(),
            unread: 0,
            mirrors,
            violations_reported: 0,
            history: History::default(),
            stepwise: None,
        })
    }

    /// Rebuilds a run from a record (a link), at the record's time.
    pub fn restore(record: RunRecord) -> Result<Self, String> {
        let (mut p, time) = Self::restore_at_start(record)?;
        p.seek(time)?;
        Ok(p)
    }

    /// A run from a record, at its start, with its actions ready to replay;
    /// and the moment the record was saved at. The page replays up to it
    /// in slices, so that a long run never freezes the tab.
    pub fn restore_at_start(record: RunRecord) -> Result<(Self, Time), String> {
        if record.version != RECORD_VERSION {
            return Err(format!(
                "this link was made by version {} of the playground; this is version {RECORD_VERSION}",
                record.version
            ));
        }
        let mut p = Playground::new(record.options)?;
        for a in &record.actions {
            p.validate(&a.action)?;
        }
        p.actions = record.actions;
        Ok((p, record.time))
    }

    /// Keeps every event from now on, not only the latest few hundred
    /// (for `gradesim replay`, which prints them all).
    pub fn keep_every_event(&mut self) {
        self.event_limit = usize::MAX;
    }

    /// Back to the start of the run, keeping every action and the timeline's
    /// end (to replay forward from there).
    pub fn rewind(&mut self) -> Result<(), String> {
        let actions = std::mem::take(&mut self.actions);
        let (horizon, limit) = (self.horizon(), self.event_limit);
        *self = Playground::new(self.options.clone())?;
        self.actions = actions;
        self.horizon = horizon;
        self.event_limit = limit;
        Ok(())
    }

    pub fn record(&self) -> RunRecord {
        RunRecord {
            version: RECORD_VERSION,
            options: self.options.clone(),
            actions: self.actions.clone(),
            time: self.now(),
        }
    }

    pub fn options(&self) -> &PlaygroundOptions {
        &self.options
    }
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }
    pub fn now(&self) -> Time {
        self.cluster.now()
    }
    /// The furthest moment reached, for the timeline.
    pub fn horizon(&self) -> Time {
        self.horizon.max(self.actions.last().map_or(0, |a| a.time))
    }
    pub fn auto_on(&self) -> bool {
        self.auto.on
    }

    // ----- time -----------------------------------------------------------

    /// Runs until `until` (virtual microseconds).
    pub fn advance_to(&mut self, until: Time) -> Result<(), String> {
        while self.run_one(until)? {}
        if !self.exploring() {
            self.cluster.set_clock(until)?;
        }
        self.horizon = self.horizon.max(self.now());
        Ok(())
    }

    /// Runs the next thing that happens; false if nothing is left to run.
    pub fn step(&mut self) -> Result<bool, String> {
        let ran = self.run_one(Time::MAX)?;
        self.horizon = self.horizon.max(self.now());
        Ok(ran)
    }

    /// Goes to `time`: forward by running, back by replaying from the start.
    pub fn seek(&mut self, time: Time) -> Result<(), String> {
        if time < self.now() {
            self.rewind()?;
        }
        self.advance_to(time)
    }

    /// One step of the run: a recorded action due now, an automatic client
    /// operation, or a cluster event, whichever comes first, if by `limit`.
    fn run_one(&mut self, limit: Time) -> Result<bool, String> {
        if let Some(next) = self.actions.get(self.applied).cloned()
            && next.steps == self.steps
            && next.time <= limit
        {
            self.cluster.set_clock(next.time)?;
            self.applied += 1;
            self.apply(next.action)?;
            return Ok(true);
        }
        // In explore mode nothing happens unless chosen.
        if self.exploring() {
            return Ok(false);
        }
        let event = self.cluster.next_time().unwrap_or(Time::MAX);
        let auto = if self.auto.on {
            self.auto.next_at
        } else {
            Time::MAX
        };
        if event.min(auto) > limit || event.min(auto) == Time::MAX {
            return Ok(false);
        }
        self.steps += 1;
        if auto < event {
            self.cluster.set_clock(auto)?;
            self.auto_operation();
        } else if let Some(d) = self.cluster.step() {
            self.on_response(d.from, d.response);
        }
        self.collect_events();
        Ok(true)
    }

    // ----- actions ----------------------------------------------------------

    /// Does what the user asked now. Only an action that took effect is
    /// recorded; if the user went back in time, recording it discards the
    /// actions after this moment (the run forks): returns how many.
    pub fn act(&mut self, action: Action) -> Result<usize, String> {
        self.validate(&action)?;
        // Stamped with the moment it was taken (a timer fired in explore
        // mode moves the clock on).
        let (time, steps) = (self.now(), self.steps);
        self.apply(action.clone())?;
        let discarded = self.later_actions();
        self.actions.truncate(self.applied);
        self.horizon = self.now();
        self.actions.push(Stamped {
            time,
            steps,
            action,
        });
        self.applied += 1;
        Ok(discarded)
    }

    /// Recorded actions after the current moment (the user went back).
    pub fn later_actions(&self) -> usize {
        self.actions.len() - self.applied
    }

    /// The settings in effect at the current moment, as the controls show
    /// them.
    pub fn settings(&self) -> Settings {
        let network = self.cluster.network();
        Settings {
            drop_rate: network.drop_rate,
            latency_min_ms: time::as_millis(network.latency.0),
            latency_max_ms: time::as_millis(network.latency.1),
            auto: self.auto.on,
        }
    }

    fn validate(&self, action: &Action) -> Result<(), String> {
        let n = self.options.nodes;
        let check = |id: NodeId| {
            if (id as usize) < n {
                Ok(())
            } else {
                Err(format!("no node S{} in a cluster of {n}", id as u32 + 1))
            }
        };
        match action {
            Action::Crash { node } | Action::Restart { node } | Action::Timeout { node } => {
                check(*node)
            }
            Action::DropMessage { from, to, .. } | Action::Cut { from, to } => {
                check(*from).and_then(|_| check(*to))
            }
            Action::Put { node, key, .. } | Action::Get { node, key } => {
                if key.trim().is_empty() {
                    return Err("a key cannot be empty or only spaces".into());
                }
                node.map_or(Ok(()), check)
            }
            Action::Partition { groups } => groups.iter().flatten().try_for_each(|&g| check(g)),
            Action::DropRate { rate } if !(0.0..1.0).contains(rate) => {
                Err(format!("drop rate must be in [0, 1), got {rate}"))
            }
            Action::Latency { min_ms, max_ms } => latency_range(*min_ms, *max_ms).map(|_| ()),
            Action::Explore {
                link_capacity: Some(0),
                ..
            } => Err("a link holds at least one message".into()),
            Action::Choose { event } => event.node().map_or(Ok(()), check),
            _ => Ok(()),
        }
    }

    fn apply(&mut self, action: Action) -> Result<(), String> {
        let c = &mut self.cluster;
        let result = match action {
            Action::Crash { node } => c.crash(node).map_err(String::from),
            Action::Restart { node } => c.restart(node).map_err(String::from),
            Action::Timeout { node } => c.timeout(node).map_err(String::from),
            Action::Put { key, value, node } => {
                self.send(node, Op::Put { key, value });
                Ok(())
            }
            Action::Get { key, node } => {
                self.send(node, Op::Get { key });
                Ok(())
            }
            Action::Auto { on } => {
                self.auto.on = on;
                self.auto.next_at = self.cluster.now();
                Ok(())
            }
            Action::Partition { groups } => c.partition(&groups).map_err(String::from),
            Action::Heal => {
                c.heal();
                Ok(())
            }
            Action::DropRate { rate } => c.set_drop_rate(rate).map_err(String::from),
            Action::Latency { min_ms, max_ms } => c
                .set_latency(micros(min_ms), micros(max_ms))
                .map_err(String::from),
            Action::DropMessage { from, to, sent_ms } => c
                .drop_in_flight(from, to, micros(sent_ms))
                .map_err(String::from),
            Action::Cut { from, to } => c.cut(from, to).map_err(String::from),
            Action::Explore { on, link_capacity } => self.explore(on, link_capacity),
            Action::Choose { event } => self.choose(event),
        };
        let result = result.and_then(|()| self.settle_step());
        self.collect_events();
        result
    }

    /// The client's target: the chosen node, else the leader, else any
    /// live node.
    fn target(&self, node: Option<NodeId>) -> NodeId {
        node.or(self.cluster.leader())
            .or(self.cluster.alive().first().copied())
            .unwrap_or(0)
    }

    fn send(&mut self, node: Option<NodeId>, op: Op) {
        let to = self.target(node);
        self.request(to, op, None);
    }

    /// A new operation of the client, or (`resend`: the MID it was last
    /// sent under) the same one again.
    fn request(&mut self, to: NodeId, op: Op, resend: Option<&str>) {
        self.next_mid += 1;
        let mid = format!("M{}", self.next_mid);
        match resend {
            Some(old) => self.history.resent(old, &mid),
            None => self.history.invoked(self.cluster.now(), &mid, &op),
        }
        let request = Request {
            client: CLIENT,
            mid,
            op,
        };
        if self.exploring() {
            self.cluster.request_now(to, request);
        } else {
            self.cluster.request(to, request);
        }
    }

    fn auto_operation(&mut self) {
        self.auto.counter += 1;
        let key = format!("k{}", self.rng.random_range(0..8));
        let op = if self.rng.random_bool(0.3) {
            Op::Get { key }
        } else {
            Op::Put {
                key,
                value: format!("v{}", self.auto.counter),
            }
        };
        self.send(None, op);
        let gap = time::from_secs(1.0 / self.options.auto_rate);
        self.auto.next_at = self.cluster.now() + gap.max(1);
    }

    /// The client follows redirects to the leader named, as the grader's
    /// do (in explore mode, a request is sent only when chosen).
    fn on_response(&mut self, from: NodeId, response: Response) {
        let Response {
            leader, reply, mid, ..
        } = response;
        if let Reply::Ok { value } = reply {
            let now = self.cluster.now();
            return self.history.answered(now, &mid, from, value);
        }
        if self.exploring() {
            return;
        }
        let Some(to) = leader.filter(|&l| l != from && self.cluster.is_alive(l)) else {
            return;
        };
        if let Some(op) = self.history.op_of(&mid) {
            self.request(to, op, Some(&mid));
        }
    }
}

/// The client ID the playground's requests come from: any ID above the
/// largest cluster (9 nodes) that no replica uses.
const CLIENT: u16 = 100;
