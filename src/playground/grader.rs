//! The course grader in the browser: one of the project's grader-format
//! configs (built in) or any config file, run with the grader's own
//! workload, faults and scoring ([`SimRun`]) in slices, so that the page
//! counts the four metrics up live and ends with the numbers `gradesim sim`
//! prints for the same config and seed. wasm32 only.

use crate::grader::{GraderConfig, Metric, SimOptions, SimRun};
use crate::raft::time;
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
        Ok(GraderRun {
            run: Some(SimRun::new(&config, &options).map_err(err)?),
            summary: None,
        })
    }

    /// Runs `ms` more of the grader's timeline; true once it is over (then
    /// `summary()` holds the score).
    pub fn advance(&mut self, ms: f64) -> Result<bool, JsError> {
        let Some(run) = self.run.as_mut() else {
            return Ok(true);
        };
        let until = run.cluster().now() + time::from_millis(ms.max(0.0));
        if run.run_until(until).map_err(err)? {
            let outcome = self.run.take().expect("a run").finish();
            let s = &outcome.score;
            let rows = Metric::ALL
                .iter()
                .map(|&m| Row {
                    metric: m.name(),
                    value: m.show(s.value(m)),
                    tier: s.tier(m).to_string(),
                })
                .collect::<Vec<_>>();
            let metrics: Vec<String> = rows
                .iter()
                .map(|r| format!("{} {} ({})", r.metric, r.value, r.tier))
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

    /// The grader's summary once the run is over, else null.
    pub fn summary(&self) -> Result<JsValue, JsError> {
        to_js(&self.summary)
    }
}
