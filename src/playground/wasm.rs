//! The playground's WebAssembly API: a thin wasm-bindgen class over
//! [`crate::playground::model::Playground`].
//!
//! Owns only the crossing of the boundary: options and actions come in as
//! JavaScript objects, views go out through `serde-wasm-bindgen`, errors
//! become JavaScript exceptions with a clear message. Times cross in
//! milliseconds of virtual time. Compiled only for `wasm32`.

use crate::playground::export;
use crate::playground::model::{
    self, Action, Playground as Model, PlaygroundOptions, Progress, RunRecord,
};
use crate::raft::NodeId;
use crate::raft::time::{self, Time};
use serde::Serialize;
use wasm_bindgen::prelude::*;

fn err(message: String) -> JsError {
    JsError::new(&message)
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    value.serialize(&serializer).map_err(|e| err(e.to_string()))
}

/// Reads a JavaScript object through JSON, so that serde's checks (unknown
/// fields, types, ranges) apply as they do natively.
fn from_js<T: serde::de::DeserializeOwned>(value: &JsValue, what: &str) -> Result<T, JsError> {
    let text = js_sys::JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| err(format!("bad {what}: not a plain object")))?;
    serde_json::from_str(&text).map_err(|e| err(format!("bad {what}: {e}")))
}

fn micros(ms: f64) -> Result<Time, JsError> {
    if ms.is_finite() && ms >= 0.0 {
        Ok(time::from_millis(ms))
    } else {
        Err(err(format!(
            "a time must be a non-negative number of ms, got {ms}"
        )))
    }
}

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// A simulated Raft cluster for the page to drive and draw.
#[wasm_bindgen]
pub struct Playground {
    model: Model,
}

#[wasm_bindgen]
impl Playground {
    /// `options`: any of `nodes` (3 to 9), `seed`, `latency_min_ms`,
    /// `latency_max_ms`, `drop_rate`, `election_timeout_min_ms`,
    /// `election_timeout_max_ms`, `heartbeat_ms`, `pre_vote`, `check_quorum`,
    /// `read_mode` ("lease" or "read_index"), `fanout` ("quorum" or "all"),
    /// `auto_rate`; the rest take their defaults.
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue) -> Result<Playground, JsError> {
        let options: PlaygroundOptions = if options.is_undefined() || options.is_null() {
            PlaygroundOptions::default()
        } else {
            from_js(&options, "options")?
        };
        Ok(Playground {
            model: Model::new(options).map_err(err)?,
        })
    }

    /// Reopens a run saved with `record()` (for example from a link), at the
    /// moment it was saved.
    pub fn restore(record: JsValue) -> Result<Playground, JsError> {
        let record: RunRecord = from_js(&record, "saved run")?;
        Ok(Playground {
            model: Model::restore(record).map_err(err)?,
        })
    }

    /// A saved run at its start, its actions ready: the page then replays
    /// it in slices with `seek` up to `record.time`, never freezing the tab.
    #[wasm_bindgen(js_name = restoreAtStart)]
    pub fn restore_at_start(record: JsValue) -> Result<Playground, JsError> {
        let record: RunRecord = from_js(&record, "saved run")?;
        let (model, _) = Model::restore_at_start(record).map_err(err)?;
        Ok(Playground { model })
    }

    /// The run as a file (a JSON string): its record and latest events.
    #[wasm_bindgen(js_name = exportRun)]
    pub fn export_run(&self) -> Result<String, JsError> {
        serde_json::to_string_pretty(&export::export(&self.model)).map_err(|e| err(e.to_string()))
    }

    /// The record in an exported run's text (or a bare record), with a
    /// clear error for anything else; open it with `restoreAtStart`.
    #[wasm_bindgen(js_name = parseRun)]
    pub fn parse_run(text: &str) -> Result<JsValue, JsError> {
        to_js(&export::parse(text).map_err(err)?)
    }

    /// Back to the start, keeping the actions (replay forward with `seek`).
    pub fn rewind(&mut self) -> Result<(), JsError> {
        self.model.rewind().map_err(err)
    }

    /// Recorded actions after the current moment (the run was scrubbed
    /// back; acting now discards them).
    #[wasm_bindgen(js_name = laterActions)]
    pub fn later_actions(&self) -> usize {
        self.model.later_actions()
    }

    /// Drop rate, latency and automatic load as they are at this moment.
    pub fn settings(&self) -> Result<JsValue, JsError> {
        to_js(&self.model.settings())
    }

    /// Options, actions and the current moment: everything to replay the run.
    pub fn record(&self) -> Result<JsValue, JsError> {
        to_js(&self.model.record())
    }

    pub fn options(&self) -> Result<JsValue, JsError> {
        to_js(self.model.options())
    }

    #[wasm_bindgen(js_name = nowMs)]
    pub fn now_ms(&self) -> f64 {
        time::as_millis(self.model.now())
    }

    /// The furthest moment reached, ms (the end of the timeline).
    #[wasm_bindgen(js_name = horizonMs)]
    pub fn horizon_ms(&self) -> f64 {
        time::as_millis(self.model.horizon())
    }

    /// Runs `ms` of virtual time.
    pub fn advance(&mut self, ms: f64) -> Result<(), JsError> {
        let until = self.model.now() + micros(ms)?;
        self.model.advance_to(until).map_err(err)
    }

    /// Runs the next event; false if there is none.
    pub fn step(&mut self) -> Result<bool, JsError> {
        self.model.step().map_err(err)
    }

    /// Goes to a moment of the run, replaying from the start if it is past.
    pub fn seek(&mut self, ms: f64) -> Result<(), JsError> {
        self.model.seek(micros(ms)?).map_err(err)
    }

    /// Performs a user action: an object such as `{do: "crash", node: 2}`,
    /// `{do: "put", key: "x", value: "1", node: null}`, `{do: "partition",
    /// groups: [[0, 1], [2]]}`, `{do: "heal"}`, `{do: "auto", on: true}`,
    /// `{do: "drop_rate", rate: 0.1}`, `{do: "timeout", node: 0}`.
    ///
    /// Returns how many later actions were discarded (non-zero when the
    /// run was scrubbed back: acting there forks it). A refused action
    /// throws and is not recorded.
    pub fn act(&mut self, action: JsValue) -> Result<usize, JsError> {
        let action: Action = from_js(&action, "action")?;
        self.model.act(action).map_err(err)
    }

    pub fn crash(&mut self, node: NodeId) -> Result<usize, JsError> {
        self.model.act(Action::Crash { node }).map_err(err)
    }

    pub fn restart(&mut self, node: NodeId) -> Result<usize, JsError> {
        self.model.act(Action::Restart { node }).map_err(err)
    }

    pub fn timeout(&mut self, node: NodeId) -> Result<usize, JsError> {
        self.model.act(Action::Timeout { node }).map_err(err)
    }

    /// A client put, to `node` or (if undefined) the current leader.
    pub fn put(
        &mut self,
        key: String,
        value: String,
        node: Option<NodeId>,
    ) -> Result<usize, JsError> {
        self.model
            .act(Action::Put { key, value, node })
            .map_err(err)
    }

    pub fn get(&mut self, key: String, node: Option<NodeId>) -> Result<usize, JsError> {
        self.model.act(Action::Get { key, node }).map_err(err)
    }

    #[wasm_bindgen(js_name = setAuto)]
    pub fn set_auto(&mut self, on: bool) -> Result<usize, JsError> {
        self.model.act(Action::Auto { on }).map_err(err)
    }

    #[wasm_bindgen(js_name = autoOn)]
    pub fn auto_on(&self) -> bool {
        self.model.auto_on()
    }

    /// Cuts the links between groups (`[[0, 1], [2, 3]]`); nodes not named
    /// form one more group.
    pub fn partition(&mut self, groups: JsValue) -> Result<usize, JsError> {
        let groups: Vec<Vec<NodeId>> =
            serde_wasm_bindgen::from_value(groups).map_err(|e| err(format!("bad groups: {e}")))?;
        self.model.act(Action::Partition { groups }).map_err(err)
    }

    pub fn heal(&mut self) -> Result<usize, JsError> {
        self.model.act(Action::Heal).map_err(err)
    }

    #[wasm_bindgen(js_name = setDropRate)]
    pub fn set_drop_rate(&mut self, rate: f64) -> Result<usize, JsError> {
        self.model.act(Action::DropRate { rate }).map_err(err)
    }

    /// Drops the message in flight from `from` to `to` sent at `sent_ms`.
    #[wasm_bindgen(js_name = dropMessage)]
    pub fn drop_message(
        &mut self,
        from: NodeId,
        to: NodeId,
        sent_ms: f64,
    ) -> Result<usize, JsError> {
        let action = Action::DropMessage { from, to, sent_ms };
        self.model.act(action).map_err(err)
    }

    /// Cuts one direction of one link (until the next heal).
    pub fn cut(&mut self, from: NodeId, to: NodeId) -> Result<usize, JsError> {
        self.model.act(Action::Cut { from, to }).map_err(err)
    }

    #[wasm_bindgen(js_name = setLatency)]
    pub fn set_latency(&mut self, min_ms: f64, max_ms: f64) -> Result<usize, JsError> {
        self.model
            .act(Action::Latency { min_ms, max_ms })
            .map_err(err)
    }

    /// Every node: role, term, vote, commit index, election deadline, the
    /// leader's next and match index per follower. Logs come apart.
    pub fn nodes(&self) -> Result<JsValue, JsError> {
        to_js(&self.model.nodes())
    }

    /// Log entries new or rewritten since the last call, per node.
    #[wasm_bindgen(js_name = logChanges)]
    pub fn log_changes(&mut self) -> Result<JsValue, JsError> {
        to_js(&self.model.log_changes())
    }

    /// Makes the next `logChanges()` send whole logs.
    #[wasm_bindgen(js_name = resendLogs)]
    pub fn resend_logs(&mut self) {
        self.model.resend_logs();
    }

    /// A node's key-value map, as `[key, value]` pairs.
    pub fn kv(&self, node: NodeId) -> Result<JsValue, JsError> {
        to_js(&self.model.kv(node))
    }

    /// Messages in flight, with their send and arrival times.
    pub fn messages(&self) -> Result<JsValue, JsError> {
        to_js(&self.model.messages())
    }

    /// Cut links, as `[from, to]` pairs.
    pub fn cuts(&self) -> Result<JsValue, JsError> {
        to_js(&self.model.cuts())
    }

    /// Events since the last call, in plain language.
    pub fn events(&mut self) -> Result<JsValue, JsError> {
        to_js(&self.model.events())
    }

    /// The latest events, read or not (after a seek).
    #[wasm_bindgen(js_name = recentEvents)]
    pub fn recent_events(&self) -> Result<JsValue, JsError> {
        to_js(&self.model.recent_events())
    }

    /// The safety lights: name, ok, and for a red one the sentence, the
    /// moment (ms) and the nodes it names.
    pub fn lights(&self) -> Result<JsValue, JsError> {
        to_js(&self.model.lights())
    }

    /// The client's operations: key, put value, invocation and response
    /// (ms), the value a get returned, who answered.
    pub fn history(&self) -> Result<JsValue, JsError> {
        to_js(&self.model.history())
    }

    /// The operations open at `since_ms` or invoked after it (for the
    /// history lane), and the key whose history broke: `{ops, broken}`.
    #[wasm_bindgen(js_name = historySince)]
    pub fn history_since(&self, since_ms: f64) -> Result<JsValue, JsError> {
        #[derive(Serialize)]
        struct Lane {
            ops: Vec<crate::playground::checks::HistoryOp>,
            broken: Option<String>,
        }
        let (ops, broken) = self.model.history_since(micros(since_ms)?);
        to_js(&Lane { ops, broken })
    }

    /// In a bug hunt, the planted bug: `{name, rule}` (the page shows it
    /// only once a light turns red or the student gives up); else null.
    #[wasm_bindgen(js_name = huntedBug)]
    pub fn hunted_bug(&self) -> Result<JsValue, JsError> {
        #[derive(Serialize)]
        struct Hunted {
            name: &'static str,
            rule: &'static str,
        }
        let bug = self.model.options().hunted();
        to_js(&bug.map(|b| Hunted {
            name: b.name(),
            rule: b.rule(),
        }))
    }

    /// The first safety property broken, if any.
    pub fn violation(&self) -> Option<String> {
        self.model.cluster().violation().map(|v| v.to_string())
    }

    // ----- explore mode ---------------------------------------------------

    /// Explore mode on or off: time stands still and every event is
    /// chosen. `link_capacity`: at most this many messages wait on a link.
    pub fn explore(&mut self, on: bool, link_capacity: Option<usize>) -> Result<usize, JsError> {
        let action = Action::Explore { on, link_capacity };
        self.model.act(action).map_err(err)
    }

    pub fn exploring(&self) -> bool {
        self.model.exploring()
    }

    /// The events that may be chosen now: `[{event, text}]`, where
    /// `event` is what `choose` takes (`{event: "deliver", message: 2}`).
    pub fn choices(&self) -> Result<JsValue, JsError> {
        to_js(&self.model.choices())
    }

    /// Makes a chosen event happen (in explore mode).
    pub fn choose(&mut self, event: JsValue) -> Result<usize, JsError> {
        let event = from_js(&event, "event")?;
        self.model.act(Action::Choose { event }).map_err(err)
    }

    /// Takes back the last action of explore mode.
    pub fn undo(&mut self) -> Result<(), JsError> {
        self.model.undo().map_err(err)
    }
}

/// The planted bugs, for the page's menus: `[{name, rule, chaos_seed,
/// hints}]` (`chaos_seed`: the first chaos run that catches it; `hints`:
/// the vaguer first).
#[wasm_bindgen(js_name = plantedBugs)]
pub fn planted_bugs() -> Result<JsValue, JsError> {
    #[derive(Serialize)]
    struct Planted {
        name: &'static str,
        rule: &'static str,
        chaos_seed: u64,
        hints: [&'static str; 2],
    }
    let bugs: Vec<Planted> = crate::raft::Bug::ALL
        .iter()
        .map(|&b| Planted {
            name: b.name(),
            rule: b.rule(),
            chaos_seed: crate::sim::chaos::first_catch(b),
            hints: crate::playground::hunt::hints(b),
        })
        .collect();
    to_js(&bugs)
}

/// Searches breadth-first for a shortest run of a cluster with `options`
/// and the planted bug `bug` that breaks a check (for a Web Worker: it
/// runs until done). `on_level` is called with `{depth, states}` after
/// each level and stops the search by returning false. Returns the plan
/// to play (`{prelude, steps, broken, nodes, batch, link_capacity,
/// states}`: a fresh cluster of the page's options with `nodes`, `batch`
/// and `link_capacity` plays it) or null.
#[wasm_bindgen(js_name = showMeHow)]
pub fn show_me_how(
    options: JsValue,
    bug: &str,
    depth: usize,
    max_states: f64,
    on_level: &js_sys::Function,
) -> Result<JsValue, JsError> {
    let options: PlaygroundOptions = from_js(&options, "options")?;
    let bug = crate::raft::Bug::parse(bug).map_err(err)?;
    let search =
        model::search_options(&options, Some(bug), depth, max_states as u64).map_err(err)?;
    let plan = model::plan(&search, |p: Progress| {
        let progress = to_js(&p).unwrap_or(JsValue::NULL);
        on_level
            .call1(&JsValue::NULL, &progress)
            .is_ok_and(|r| r.as_bool() != Some(false))
    })
    .map_err(err)?;
    to_js(&plan)
}

/// The wire's diagnoses of a recording ([`crate::grader::diagnose`], what
/// `gradesim show` prints), for the page's list of problems: the page,
/// which has parsed the recording, hands over each datagram's fields.
#[wasm_bindgen]
pub struct WireDiagnoser(crate::grader::diagnose::Diagnoser);

#[wasm_bindgen]
impl WireDiagnoser {
    #[wasm_bindgen(constructor)]
    pub fn new(replicas: Vec<String>) -> WireDiagnoser {
        WireDiagnoser(crate::grader::diagnose::Diagnoser::new(
            replicas.iter().map(String::as_str),
        ))
    }

    /// One datagram line: `t` in µs, `mid`, `leader` and `term` from its
    /// JSON where it has them, `pre` whether its JSON's `pre` is true.
    #[allow(clippy::too_many_arguments)]
    pub fn datagram(
        &mut self,
        t: f64,
        src: &str,
        dst: &str,
        delivered: bool,
        ty: &str,
        mid: Option<String>,
        leader: Option<String>,
        term: Option<f64>,
        pre: bool,
    ) {
        self.0.seen(&crate::grader::diagnose::Datagram {
            t: t.max(0.0) as Time,
            src,
            dst,
            delivered,
            ty,
            mid: mid.as_deref(),
            leader: leader.as_deref(),
            term: term.filter(|t| *t >= 0.0).map(|t| t as u64),
            pre,
        });
    }

    /// What the run shows: `[{t, what}]`, `t` in µs from the start, in
    /// time order. `max_packets` and `total_msgs`: the config's cap and the
    /// score's count, if known.
    pub fn finish(
        self,
        max_packets: Option<f64>,
        total_msgs: Option<f64>,
    ) -> Result<JsValue, JsError> {
        let found = self
            .0
            .finish(max_packets.map(|n| n as u64), total_msgs.map(|n| n as u64));
        to_js(&found)
    }
}
