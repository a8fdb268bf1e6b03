//! The course grader in the browser: one of the project's grader-format
//! configs (built in) or any config file, run with the grader's own
//! workload, faults and scoring ([`SimRun`]) in slices, so that the page
//! counts the four metrics up live and ends with the numbers `gradesim sim`
//! prints for the same config and seed. wasm32 only.

use crate::grader::{GraderConfig, Metric, SimOptions, SimRun};
use crate::playground::model::{flight_views, node_views};
use crate::raft::time::{self, Time};
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// The project's grader-format configs, by file name without `.json`.
const BUILT_IN: [(&str, &str); 9] = [
    ("simple", include_str!("../../configs/simple.json")),
    ("unreliable", include_str!("../../configs/unreliable.json")),
    ("crash", include_str!("../../configs/crash.json")),
    ("partition", include_str!("../../configs/partition.json")),
    ("advanced", include_str!("../../configs/advanced.json")),
    (
        "three-replicas",
        include_str!("../../configs/three-replicas.json"),
    ),
    (
        "seven-replicas",
        include_str!("../../configs/seven-replicas.json"),
    ),
    (
        "double-rate",
        include_str!("../../configs/double-rate.json"),
    ),
    (
        "leader-kill-under-load",
        include_str!("../../configs/leader-kill-under-load.json"),
    ),
];

fn err(message: String) -> JsError {
    JsError::new(&message)
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    value.serialize(&serializer).map_err(|e| err(e.to_string()))
}

/// The names of the built-in configs.
#[wasm_bindgen(js_name = graderConfigs)]
pub fn grader_configs() -> Vec<String> {
    BUILT_IN.iter().map(|(n, _)| n.to_string()).collect()
}

/// The text of a built-in config.
#[wasm_bindgen(js_name = graderConfigText)]
pub fn grader_config_text(name: &str) -> Result<String, JsError> {
    let found = BUILT_IN.iter().find(|(n, _)| *n == name);
    found.map(|(_, t)| t.to_string()).ok_or_else(|| {
        err(format!(
            "no built-in config {name}; they are {}",
            grader_configs().join(", ")
        ))
    })
}

#[derive(Serialize)]
struct Row {
    metric: &'static str,
    value: String,
    tier: String,
}

/// A metric's unit, for the page's table.
fn unit(metric: Metric) -> &'static str {
    match metric {
        Metric::MedianLatency => " s",
        Metric::TotalMsgs => " datagrams",
        Metric::Failures | Metric::Duplicates => "",
    }
}

/// "bonus below 1200, full below 3000, partial below 5000 datagrams".
fn bounds_text(metric: Metric, bounds: [f64; 3]) -> String {
    let [bonus, full, partial] = bounds.map(|b| metric.show(b));
    format!(
        "bonus below {bonus}, full below {full}, partial below {partial}{}",
        unit(metric)
    )
}

#[derive(Serialize)]
struct Summary {
    name: String,
    seed: u64,
    passed: bool,
    /// `name: detail` of every failed check of the grader's table.
    failed_checks: Vec<String>,
    rows: Vec<Row>,
    /// The line `gradesim sim` prints for this run.
    line: String,
}

/// A grader run for the page.
#[wasm_bindgen]
pub struct GraderRun {
    run: Option<SimRun>,
    summary: Option<Summary>,
    /// Each metric's tier bounds, in words, in [`Metric::ALL`]'s order.
    bounds: Vec<String>,
    election_max_ms: f64,
    /// How far the run's timeline has been advanced (the cluster's clock
    /// moves only with its events, so it may lag behind).
    at: Time,
}

#[wasm_bindgen]
impl GraderRun {
    /// `text`: a config in the grader's format (its errors name the field);
    /// `name`: what to call it; `seed` as `gradesim sim --seed`.
    #[wasm_bindgen(constructor)]
    pub fn new(name: &str, text: &str, seed: f64) -> Result<GraderRun, JsError> {
        let config = GraderConfig::parse(name, text).map_err(err)?;
        let options = SimOptions {
            seed: seed as u64,
            ..SimOptions::default()
        };
        let b = &config.tests.benchmarks;
        let bounds = Metric::ALL
            .iter()
            .map(|&m| bounds_text(m, m.bounds(b)))
            .collect();
        let run = SimRun::new(&config, &options).map_err(err)?;
        let election_max_ms = time::as_millis(run.cluster().options().raft.election_timeout_max);
        Ok(GraderRun {
            run: Some(run),
            summary: None,
            bounds,
            election_max_ms,
            at: 0,
        })
    }

    /// Runs `ms` more of the grader's timeline; true once it is over (then
    /// `summary()` holds the score).
    pub fn advance(&mut self, ms: f64) -> Result<bool, JsError> {
        let Some(run) = self.run.as_mut() else {
            return Ok(true);
        };
        // From where the last call left the timeline, not from the last
        // event: a gap between events longer than `ms` is crossed.
        let until = self.at.max(run.cluster().now()) + time::from_millis(ms.max(0.0));
        self.at = until;
        if run.run_until(until).map_err(err)? {
            let outcome = self.run.take().expect("a run").finish();
            let s = &outcome.score;
            let rows = Metric::ALL
                .iter()
                .map(|&m| Row {
                    metric: m.name(),
                    value: format!("{}{}", m.show(s.value(m)), unit(m)),
                    tier: s.tier(m).to_string(),
                })
                .collect::<Vec<_>>();
            let metrics: Vec<String> = Metric::ALL
                .iter()
                .map(|&m| format!("{} {} ({})", m.name(), m.show(s.value(m)), s.tier(m)))
                .collect();
            let verdict = if outcome.passed() { "PASS" } else { "FAIL" };
            self.summary = Some(Summary {
                line: format!(
                    "{:<14} seed {:<6} {verdict}  {}",
                    outcome.name,
                    outcome.seed,
                    metrics.join("  ")
                ),
                name: outcome.name.clone(),
                seed: outcome.seed,
                passed: outcome.passed(),
                failed_checks: s
                    .checks
                    .iter()
                    .filter(|c| !c.ok)
                    .map(|c| format!("{}: {}", c.name, c.detail))
                    .collect(),
                rows,
            });
        }
        Ok(self.run.is_none())
    }

    /// The metrics so far: `{now_ms, end_ms, total_msgs, failures,
    /// duplicates, median_latency, tiers, done}`.
    pub fn live(&self) -> Result<JsValue, JsError> {
        match &self.run {
            Some(run) => to_js(&run.live()),
            None => Ok(JsValue::NULL),
        }
    }

    /// Each metric's tier bounds in words, with its unit, in the order of
    /// the rows (`total_msgs`, `failures`, `duplicates`, `median_latency`).
    pub fn bounds(&self) -> Vec<String> {
        self.bounds.clone()
    }

    /// The run's replicas as the ring draws nodes (null once it is over).
    pub fn nodes(&self) -> Result<JsValue, JsError> {
        match &self.run {
            Some(run) => to_js(&node_views(run.cluster())),
            None => Ok(JsValue::NULL),
        }
    }

    /// The run's messages in flight, as the ring draws them.
    pub fn messages(&self) -> Result<JsValue, JsError> {
        match &self.run {
            Some(run) => to_js(&flight_views(run.cluster())),
            None => Ok(JsValue::NULL),
        }
    }

    /// The run's clock, ms.
    #[wasm_bindgen(js_name = nowMs)]
    pub fn now_ms(&self) -> f64 {
        self.run
            .as_ref()
            .map_or(0.0, |r| time::as_millis(r.cluster().now()))
    }

    /// The replicas' maximum election timeout, ms (the ring's timer arcs).
    #[wasm_bindgen(js_name = electionMaxMs)]
    pub fn election_max_ms(&self) -> f64 {
        self.election_max_ms
    }

    /// The grader's summary once the run is over, else null.
    pub fn summary(&self) -> Result<JsValue, JsError> {
        to_js(&self.summary)
    }
}
