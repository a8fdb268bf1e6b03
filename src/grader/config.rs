//! The course grader's test configuration format, read and checked.
//!
//! Owns parsing and validation only: a config that is malformed or out of
//! range is refused with a message that names the field. Running a config is
//! [`super::grader`]'s job.

use serde::{Deserialize, Serialize};
use std::path::Path;

/// One fault event of the timeline (`time` counts from the end of
/// `start_wait`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultEvent {
    #[serde(rename = "type")]
    pub kind: FaultKind,
    pub time: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    KillLeader,
    KillNonLeader,
    PartEasy,
    PartHard,
    PartEnd,
}

impl FaultKind {
    /// The name the config format uses.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::KillLeader => "kill_leader",
            FaultKind::KillNonLeader => "kill_non_leader",
            FaultKind::PartEasy => "part_easy",
            FaultKind::PartHard => "part_hard",
            FaultKind::PartEnd => "part_end",
        }
    }
}

/// The tier bounds `[a, b, c]` of the four metrics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Benchmarks {
    pub total_msgs: [f64; 3],
    pub failures: [f64; 3],
    pub duplicates: [f64; 3],
    pub median_latency: [f64; 3],
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tests {
    pub benchmarks: Benchmarks,
    /// The share of gets that may fail to be generated (their client had
    /// no acknowledged put yet) before the run fails; the course's
    /// simulator reads it here, in `tests`, and defaults to 0.1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_get_generation_fail_fraction: Option<f64>,
}

fn default_start_wait() -> f64 {
    5.0
}
fn default_end_wait() -> f64 {
    2.0
}
fn default_max_packets() -> u64 {
    20_000
}
/// The course's default share of gets that may fail to be generated.
pub const GET_GENERATION_FAIL_FRACTION: f64 = 0.1;

/// A grader config, as in `configs/*.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraderConfig {
    /// Name of the run (the file stem); not part of the file.
    #[serde(skip)]
    pub name: String,
    pub lifetime: f64,
    pub replicas: usize,
    pub requests: u64,
    pub mix: f64,
    #[serde(default)]
    pub drops: f64,
    #[serde(default = "default_start_wait")]
    pub start_wait: f64,
    #[serde(default = "default_end_wait")]
    pub end_wait: f64,
    #[serde(default = "default_max_packets")]
    pub max_packets: u64,
    #[serde(default)]
    pub events: Vec<FaultEvent>,
    pub tests: Tests,
    /// Read and ignored, as the course's simulator ignores it: five of the
    /// course's configs set it here, at the top level, where its code never
    /// looks (it reads `tests.maximum_get_generation_fail_fraction`), so
    /// they run with the default, 0.1 ([`GraderConfig::get_generation_fail_fraction`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_get_generation_fail_fraction: Option<f64>,
}

pub const MIN_REPLICAS: usize = 3;
pub const MAX_REPLICAS: usize = 21;

impl GraderConfig {
    pub fn parse(name: &str, text: &str) -> Result<Self, String> {
        let mut config: GraderConfig =
            serde_json::from_str(text).map_err(|e| format!("{name}: {e}"))?;
        config.name = name.to_string();
        config.validate().map_err(|e| format!("{name}: {e}"))?;
        Ok(config)
    }

    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Self::parse(&name, &text).map_err(|e| format!("{} ({})", e, path.display()))
    }

    /// Expands files and folders (their `*.json`, sorted in the grader's
    /// order) into configs.
    pub fn load_all(paths: &[String]) -> Result<Vec<Self>, String> {
        let mut configs = Vec::new();
        for path in paths {
            let path = Path::new(path);
            if path.is_dir() {
                let entries = std::fs::read_dir(path)
                    .map_err(|e| format!("{}: cannot list: {e}", path.display()))?;
                let mut files: Vec<_> = entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "json"))
                    .collect();
                files.sort_by_key(|p| grader_order(&p.file_stem().unwrap().to_string_lossy()));
                for file in files {
                    configs.push(Self::load(&file)?);
                }
            } else {
                configs.push(Self::load(path)?);
            }
        }
        Ok(configs)
    }

    /// The share of gets that may fail to be generated, where the course's
    /// simulator finds it: `tests.maximum_get_generation_fail_fraction`, or
    /// 0.1.
    pub fn get_generation_fail_fraction(&self) -> f64 {
        (self.tests.maximum_get_generation_fail_fraction).unwrap_or(GET_GENERATION_FAIL_FRACTION)
    }

    pub fn validate(&self) -> Result<(), String> {
        positive(self.lifetime, "lifetime")?;
        if self.lifetime > 3600.0 {
            return Err(format!(
                "field `lifetime` must be at most 3600, got {}",
                self.lifetime
            ));
        }
        if !(MIN_REPLICAS..=MAX_REPLICAS).contains(&self.replicas) {
            return Err(format!(
                "field `replicas` must be between {MIN_REPLICAS} and {MAX_REPLICAS}, got {}",
                self.replicas
            ));
        }
        if self.requests == 0 || self.requests > 1_000_000 {
            return Err(format!(
                "field `requests` must be between 1 and 1000000, got {}",
                self.requests
            ));
        }
        fraction(self.mix, "mix", 1.0)?;
        fraction(self.drops, "drops", 0.99)?;
        fraction(self.start_wait, "start_wait", 3600.0)?;
        fraction(self.end_wait, "end_wait", 3600.0)?;
        fraction(
            self.get_generation_fail_fraction(),
            "tests.maximum_get_generation_fail_fraction",
            1.0,
        )?;
        self.validate_events()?;
        self.validate_tiers()
    }

    /// Every event falls within the run.
    fn validate_events(&self) -> Result<(), String> {
        for (i, event) in self.events.iter().enumerate() {
            if !(0.0..=self.lifetime).contains(&event.time) {
                return Err(format!(
                    "field `events[{i}].time` must be between 0 and lifetime ({}), got {}",
                    self.lifetime, event.time
                ));
            }
        }
        Ok(())
    }

    /// Each metric's three tier bounds are ordered.
    fn validate_tiers(&self) -> Result<(), String> {
        let b = &self.tests.benchmarks;
        for (field, tiers) in [
            ("total_msgs", b.total_msgs),
            ("failures", b.failures),
            ("duplicates", b.duplicates),
            ("median_latency", b.median_latency),
        ] {
            let ordered = tiers[0] >= 0.0 && tiers[0] <= tiers[1] && tiers[1] <= tiers[2];
            if !ordered {
                return Err(format!(
                    "field `tests.benchmarks.{field}` must be three non-decreasing non-negative numbers"
                ));
            }
        }
        Ok(())
    }

    /// The same test on a timeline `factor` times as long (for example 0.25
    /// for CI): the lifetime, the event times and the end wait are scaled;
    /// the requests, and so every check and bound that counts them, stay as
    /// they are (the request rate scales instead), as does the quiet start
    /// that elections need.
    pub fn scaled(&self, factor: f64) -> Result<Self, String> {
        if !(factor.is_finite() && factor > 0.0 && factor <= 10.0) {
            return Err(format!("time scale must be in (0, 10], got {factor}"));
        }
        let mut c = self.clone();
        c.lifetime *= factor;
        c.end_wait *= factor;
        for e in &mut c.events {
            e.time *= factor;
        }
        c.validate()?;
        Ok(c)
    }

    /// Seconds from start to end of a run.
    /// The fewest replica-to-replica messages any replica of this design
    /// could send for this config's puts: each put goes to the followers a
    /// majority needs and comes back acknowledged (4 messages on 5 nodes
    /// with quorum fan-out), divided by the share of messages delivered.
    pub fn message_floor(&self) -> f64 {
        let puts = self.requests as f64 * (1.0 - self.mix);
        let followers = (self.replicas / 2) as f64;
        puts * 2.0 * followers / (1.0 - self.drops)
    }

    pub fn duration(&self) -> f64 {
        self.start_wait + self.lifetime + self.end_wait
    }
}

/// Sort key putting configs in `run all` order: simple, unreliable, crash,
/// partition, advanced, then anything else, each by number.
fn grader_order(stem: &str) -> (usize, String, u64) {
    const FAMILIES: [&str; 5] = ["simple", "unreliable", "crash", "partition", "advanced"];
    let (family, number) = stem.rsplit_once('-').unwrap_or((stem, ""));
    let rank = FAMILIES
        .iter()
        .position(|f| *f == family)
        .unwrap_or(FAMILIES.len());
    (rank, family.to_string(), number.parse().unwrap_or(u64::MAX))
}

/// A config field that must be a positive number.
fn positive(v: f64, field: &str) -> Result<(), String> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(format!(
            "field `{field}` must be a positive number, got {v}"
        ))
    }
}

/// A config field that must lie in [0, max].
fn fraction(v: f64, field: &str, max: f64) -> Result<(), String> {
    if (0.0..=max).contains(&v) {
        Ok(())
    } else {
        Err(format!(
            "field `{field}` must be between 0 and {max}, got {v}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIMPLE: &str = r#"{"lifetime": 30, "replicas": 5, "requests": 500, "mix": 0.8,
        "tests": {"benchmarks": {"total_msgs": [1200, 3000, 5000], "failures": [0, 1, 2],
        "duplicates": [0, 2, 5], "median_latency": [0.0004, 0.002, 0.05]}}}"#;

    #[test]
    fn parses_with_grader_defaults() {
        let c = GraderConfig::parse("simple-1", SIMPLE).unwrap();
        assert_eq!(
            (c.start_wait, c.end_wait, c.max_packets),
            (5.0, 2.0, 20_000)
        );
        assert_eq!(c.get_generation_fail_fraction(), 0.1);
        assert_eq!(c.duration(), 37.0);
    }

    #[test]
    fn errors_name_the_field() {
        let bad = SIMPLE.replace("\"replicas\": 5", "\"replicas\": 2");
        let e = GraderConfig::parse("x", &bad).unwrap_err();
        assert!(e.contains("`replicas`"), "{e}");
        let bad = SIMPLE.replace("\"mix\": 0.8", "\"mix\": 1.5");
        assert!(
            GraderConfig::parse("x", &bad)
                .unwrap_err()
                .contains("`mix`")
        );
        let bad = SIMPLE.replace("\"mix\": 0.8", "\"mixx\": 0.8");
        assert!(GraderConfig::parse("x", &bad).unwrap_err().contains("mixx"));
        let bad = SIMPLE.replace(
            "\"mix\": 0.8",
            "\"mix\": 0.8, \"events\": [{\"type\": \"part_hard\", \"time\": 99}]",
        );
        assert!(
            GraderConfig::parse("x", &bad)
                .unwrap_err()
                .contains("events[0].time")
        );
        let bad = SIMPLE.replace(
            "\"mix\": 0.8",
            "\"mix\": 0.8, \"events\": [{\"type\": \"nuke\", \"time\": 1}]",
        );
        assert!(GraderConfig::parse("x", &bad).unwrap_err().contains("nuke"));
    }

    #[test]
    fn scaling_keeps_the_shape() {
        let text = SIMPLE.replace(
            "\"mix\": 0.8",
            "\"mix\": 0.8, \"events\": [{\"type\": \"kill_leader\", \"time\": 10}]",
        );
        let c = GraderConfig::parse("s", &text)
            .unwrap()
            .scaled(0.25)
            .unwrap();
        assert_eq!((c.lifetime, c.requests, c.events[0].time), (7.5, 500, 2.5));
        assert_eq!(
            (c.start_wait, c.end_wait, c.max_packets),
            (5.0, 0.5, 20_000)
        );
        assert_eq!(c.tests.benchmarks.total_msgs, [1200.0, 3000.0, 5000.0]);
        assert!(c.scaled(0.0).is_err());
    }

    #[test]
    fn grader_order_sorts_families_then_numbers() {
        let mut names = vec![
            "advanced-1",
            "crash-10",
            "crash-2",
            "simple-2",
            "zzz",
            "simple-1",
        ];
        names.sort_by_key(|n| grader_order(n));
        assert_eq!(
            names,
            [
                "simple-1",
                "simple-2",
                "crash-2",
                "crash-10",
                "advanced-1",
                "zzz"
            ]
        );
    }
}
