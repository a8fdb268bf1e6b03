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

use super::checks::{self, History, HistoryOp, LightView};
use crate::kv::{Op, Reply, Request, Response};
use crate::raft::Bug;
use crate::raft::time::{self, Time};
use crate::raft::{Config, Fanout, MessageKind, NodeId, ReadMode, Reason, RoleKind, Term};
use crate::sim::Loss;
use crate::sim::TraceKind;
use crate::sim::trace::describe;
use crate::sim::{Cluster, ClusterOptions};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
pub use stepwise::{Choice, Plan, PlanStep, Progress, plan, search_options};

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

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProgressView {
    pub peer: NodeId,
    pub next: u64,
    pub matched: u64,
}

/// What the page draws of a node (its log comes apart, see [`LogChange`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeView {
    pub id: NodeId,
    pub alive: bool,
    /// `None` while crashed.
    pub role: Option<RoleKind>,
    pub term: Term,
    pub voted_for: Option<NodeId>,
    pub leader: Option<NodeId>,
    pub commit: u64,
    /// False for a restarted node that has not yet heard a commit index:
    /// it is volatile, lost in the crash (the entries are not).
    pub commit_known: bool,
    pub log_len: u64,
    /// When its election timer fires, ms (followers and candidates).
    pub election_deadline_ms: f64,
    /// Client requests it holds until it learns of a leader.
    pub held: usize,
    /// While the vote guard holds (thesis §4.2.3): until when, ms. A
    /// forced timeout waits for it.
    pub vote_guard_ms: Option<f64>,
    pub progress: Vec<ProgressView>,
}

/// New or rewritten log entries of one node: entries from index `from`
/// (1-based) replace everything from there on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogChange {
    pub node: NodeId,
    pub from: u64,
    pub terms: Vec<Term>,
    /// For each entry: the key it writes, or "" for a no-op.
    pub keys: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MessageView {
    pub from: NodeId,
    pub to: NodeId,
    pub sent_ms: f64,
    pub arrives_ms: f64,
    pub kind: MessageKind,
    /// The sender's term (as the message carries it).
    pub term: Term,
    pub entries: usize,
    /// For replies: granted or matched.
    pub ok: bool,
    /// Why it will not arrive; `None` if it will.
    pub lost: Option<Loss>,
    /// The message as the trace names it, with its fields.
    pub text: String,
    /// In explore mode: its place among the waiting messages (what
    /// [`Action::Choose`] names it by). Its times then only place it on
    /// its link: the oldest nearest the receiver.
    pub held: Option<usize>,
}

impl MessageView {
    fn of(
        e: &crate::raft::Envelope<crate::kv::Put>,
        (sent_ms, arrives_ms): (f64, f64),
        lost: Option<Loss>,
        held: Option<usize>,
    ) -> MessageView {
        let (entries, ok) = e.message.glyph();
        MessageView {
            from: e.from,
            to: e.to,
            sent_ms,
            arrives_ms,
            kind: e.message.kind(),
            term: e.term,
            entries,
            ok,
            lost,
            text: describe(&e.message),
            held,
        }
    }
}

/// What an event is about, for the page's filters and colours.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventCategory {
    /// Timeouts, votes and why, new roles and terms, step-downs.
    Election,
    /// AppendEntries accepted or rejected and why, truncations.
    Replication,
    /// Commits and commits held back, and why.
    Commit,
    /// Requests, answers, reads served.
    Client,
    /// Lost messages, crashes, restarts, partitions, cut links, heals,
    /// clocks that drift.
    Network,
    /// A safety property broken.
    Safety,
}

impl EventCategory {
    fn of(kind: &TraceKind) -> Option<EventCategory> {
        Some(match kind {
            TraceKind::Send { .. } | TraceKind::Deliver { .. } => return None,
            TraceKind::Lost { .. }
            | TraceKind::Crash { .. }
            | TraceKind::Restart { .. }
            | TraceKind::Partition { .. }
            | TraceKind::Cut { .. }
            | TraceKind::Clock { .. }
            | TraceKind::Heal => EventCategory::Network,
            TraceKind::Request { .. } | TraceKind::Response { .. } => EventCategory::Client,
            TraceKind::Role { .. } => EventCategory::Election,
            TraceKind::Commit { .. } => EventCategory::Commit,
            TraceKind::Reason { reason, .. } => match reason {
                Reason::VoteGranted { .. } | Reason::VoteDenied { .. } => EventCategory::Election,
                Reason::SteppedDown { .. } => EventCategory::Election,
                Reason::AppendAccepted { .. }
                | Reason::AppendRejected { .. }
                | Reason::Truncated { .. }
                | Reason::HandedOver { .. }
                | Reason::TookOver { .. } => EventCategory::Replication,
                Reason::CommitAdvanced { .. } | Reason::CommitHeldBack { .. } => {
                    EventCategory::Commit
                }
                Reason::ReadServed { .. } => EventCategory::Client,
            },
        })
    }
}

/// The node an event is about, if one (for selecting it on a click).
fn subject(kind: &TraceKind) -> Option<NodeId> {
    match kind {
        TraceKind::Role { node, .. }
        | TraceKind::Commit { node, .. }
        | TraceKind::Crash { node }
        | TraceKind::Restart { node }
        | TraceKind::Clock { node, .. }
        | TraceKind::Reason { node, .. } => Some(*node),
        TraceKind::Request { to, .. } => Some(*to),
        TraceKind::Response { from, .. } => Some(*from),
        TraceKind::Lost { envelope, .. } => Some(envelope.to),
        TraceKind::Send { envelope, .. } | TraceKind::Deliver { envelope } => Some(envelope.to),
        TraceKind::Cut { from, .. } => Some(*from),
        TraceKind::Partition { .. } | TraceKind::Heal => None,
    }
}

/// The settings the user can change while a run goes on, as they are at
/// the moment shown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub drop_rate: f64,
    pub latency_min_ms: f64,
    pub latency_max_ms: f64,
    pub auto: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventView {
    pub time_ms: f64,
    pub text: String,
    pub category: EventCategory,
    /// The node it is about, if one.
    pub node: Option<NodeId>,
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
            Action::Crash { node } => c.crash(node),
            Action::Restart { node } => c.restart(node),
            Action::Timeout { node } => c.timeout(node),
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
            Action::Partition { groups } => c.partition(&groups),
            Action::Heal => {
                c.heal();
                Ok(())
            }
            Action::DropRate { rate } => c.set_drop_rate(rate),
            Action::Latency { min_ms, max_ms } => c.set_latency(micros(min_ms), micros(max_ms)),
            Action::DropMessage { from, to, sent_ms } => {
                c.drop_in_flight(from, to, micros(sent_ms))
            }
            Action::Cut { from, to } => c.cut(from, to),
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

    // ----- what the page reads ---------------------------------------------------

    pub fn nodes(&self) -> Vec<NodeView> {
        (0..self.options.nodes as NodeId)
            .map(|id| match self.cluster.server(id) {
                Some(server) => {
                    let n = server.node();
                    let progress = n.progress().into_iter();
                    NodeView {
                        id,
                        alive: true,
                        role: Some(n.role()),
                        term: n.term(),
                        voted_for: n.voted_for(),
                        leader: n.leader(),
                        commit: n.commit_index(),
                        commit_known: n.commit_index() > 0
                            || n.log().last_index() == 0
                            || self.cluster.restarts(id) == 0,
                        log_len: n.log().last_index(),
                        election_deadline_ms: time::as_millis(n.election_deadline()),
                        held: server.held(),
                        vote_guard_ms: n.vote_guard(self.now()).map(time::as_millis),
                        progress: progress
                            .map(|(peer, next, matched)| ProgressView {
                                peer,
                                next,
                                matched,
                            })
                            .collect(),
                    }
                }
                None => {
                    let p = self.cluster.persistent(id).expect("a slot per node");
                    NodeView {
                        id,
                        alive: false,
                        role: None,
                        term: p.current_term,
                        voted_for: p.voted_for,
                        leader: None,
                        commit: 0,
                        commit_known: false,
                        log_len: p.log.last_index(),
                        election_deadline_ms: 0.0,
                        held: 0,
                        vote_guard_ms: None,
                        progress: Vec::new(),
                    }
                }
            })
            .collect()
    }

    /// Log entries that changed since the last call, per node. The first
    /// call returns every log whole; later calls only what is new or
    /// rewritten, so the cost stays small as logs grow.
    pub fn log_changes(&mut self) -> Vec<LogChange> {
        let mut changes = Vec::new();
        for id in 0..self.options.nodes as NodeId {
            let log = &self.cluster.persistent(id).expect("a slot per node").log;
            let mirror = &mut self.mirrors[id as usize];
            let same = mirror
                .iter()
                .zip(log.iter())
                .take_while(|(t, e)| **t == e.term)
                .count();
            if same == mirror.len() && same as u64 == log.last_index() {
                continue;
            }
            mirror.truncate(same);
            let fresh = log.slice(same as u64 + 1, log.last_index());
            mirror.extend(fresh.iter().map(|e| e.term));
            changes.push(LogChange {
                node: id,
                from: same as u64 + 1,
                terms: fresh.iter().map(|e| e.term).collect(),
                keys: fresh
                    .iter()
                    .map(|e| {
                        e.command
                            .as_ref()
                            .map_or(String::new(), |p| format!("{}={}", p.key, p.value))
                    })
                    .collect(),
            });
        }
        changes
    }

    /// Forgets what [`Playground::log_changes`] sent, so the next call sends
    /// whole logs (after the page lost its copy).
    pub fn resend_logs(&mut self) {
        self.mirrors.iter_mut().for_each(Vec::clear);
    }

    /// The safety lights (see [`checks::lights`]).
    pub fn lights(&self) -> Vec<LightView> {
        let c = &self.cluster;
        checks::lights(c.violations(), &self.history)
    }

    /// The client's operations, oldest first.
    pub fn history(&self) -> &[HistoryOp] {
        self.history.ops()
    }

    /// The operations a window of the timeline from `since` shows, and the
    /// key whose history broke, if one.
    pub fn history_since(&self, since: Time) -> (Vec<HistoryOp>, Option<String>) {
        (self.history.since(since), self.history.broken_key())
    }

    /// The key-value map a node has applied.
    pub fn kv(&self, node: NodeId) -> Vec<(String, String)> {
        self.cluster.node(node).map_or_else(Vec::new, |n| {
            let data = n.state_machine().data();
            data.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
        })
    }

    pub fn messages(&self) -> Vec<MessageView> {
        if self.exploring() {
            return self.held_messages();
        }
        self.cluster
            .in_flight()
            .into_iter()
            .map(|m| {
                let times = (time::as_millis(m.sent), time::as_millis(m.arrives));
                MessageView::of(m.envelope, times, m.loss, None)
            })
            .collect()
    }

    /// The messages waiting in explore mode, spread along their links: the
    /// oldest on a link nearest its receiver.
    fn held_messages(&self) -> Vec<MessageView> {
        let held = self.cluster.held();
        let now = time::as_millis(self.now());
        let mut on_link: std::collections::BTreeMap<(NodeId, NodeId), usize> = Default::default();
        for e in held {
            *on_link.entry((e.from, e.to)).or_default() += 1;
        }
        let mut older: std::collections::BTreeMap<(NodeId, NodeId), usize> = Default::default();
        held.iter()
            .enumerate()
            .map(|(i, e)| {
                let count = on_link[&(e.from, e.to)];
                let before = older.entry((e.from, e.to)).or_default();
                // The share of the link behind it, in (0, 1).
                let along = (count - *before) as f64 / (count + 1) as f64;
                *before += 1;
                MessageView::of(e, (now - along, now + 1.0 - along), None, Some(i))
            })
            .collect()
    }

    /// Links that are cut, as `(from, to)` pairs.
    pub fn cuts(&self) -> Vec<(NodeId, NodeId)> {
        let n = self.options.nodes as NodeId;
        let network = self.cluster.network();
        (0..n)
            .flat_map(|a| (0..n).map(move |b| (a, b)))
            .filter(|&(a, b)| a != b && network.blocked(a, b))
            .collect()
    }

    /// Events since the last call, oldest first, in plain language.
    pub fn events(&mut self) -> Vec<EventView> {
        let skip = self.events.len().saturating_sub(self.unread);
        self.unread = 0;
        self.events.iter().skip(skip).cloned().collect()
    }

    /// The latest events (at most a few hundred), whether read or not.
    pub fn recent_events(&self) -> Vec<EventView> {
        self.events.iter().cloned().collect()
    }

    fn collect_events(&mut self) {
        for e in self.cluster.take_trace() {
            let Some(category) = EventCategory::of(&e.kind) else {
                continue;
            };
            let text = e.kind.to_string();
            self.push_event(e.time, &text, category, subject(&e.kind));
        }
        let fresh: Vec<String> = self.cluster.violations()[self.violations_reported..]
            .iter()
            .map(|v| format!("SAFETY VIOLATION: {v}"))
            .collect();
        self.violations_reported += fresh.len();
        for text in fresh {
            self.push_event(self.now(), &text, EventCategory::Safety, None);
        }
    }

    fn push_event(
        &mut self,
        time: Time,
        text: &str,
        category: EventCategory,
        node: Option<NodeId>,
    ) {
        if self.events.len() >= self.event_limit {
            self.events.pop_front();
        }
        self.events.push_back(EventView {
            time_ms: time::as_millis(time),
            text: text.to_string(),
            category,
            node,
        });
        self.unread = (self.unread + 1).min(self.event_limit);
    }
}

/// The client ID the playground's requests come from: any ID above the
/// largest cluster (9 nodes) that no replica uses.
const CLIENT: u16 = 100;
