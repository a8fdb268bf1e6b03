//! The grader's score: its correctness table and the four metrics, each put
//! in a tier by the config's benchmark bounds (`PROTOCOL.md`, "Scoring").

use super::config::Benchmarks;
use serde::Serialize;
use std::fmt;

/// One of the four figures the grader ranks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Replica-to-replica messages (a broadcast counts once per receiver).
    TotalMsgs,
    /// `fail` answers plus requests unanswered at the end.
    Failures,
    /// Extra `ok` answers to a MID already acknowledged.
    Duplicates,
    /// Seconds from a MID's send to its answer, over every answer.
    MedianLatency,
}

impl Metric {
    pub const ALL: [Metric; 4] = [
        Metric::TotalMsgs,
        Metric::Failures,
        Metric::Duplicates,
        Metric::MedianLatency,
    ];

    /// The name the grader prints.
    pub fn name(self) -> &'static str {
        match self {
            Metric::TotalMsgs => "total_msgs",
            Metric::Failures => "failures",
            Metric::Duplicates => "duplicates",
            Metric::MedianLatency => "median_latency",
        }
    }

    /// The config's bounds for this metric.
    pub fn bounds(self, b: &Benchmarks) -> [f64; 3] {
        match self {
            Metric::TotalMsgs => b.total_msgs,
            Metric::Failures => b.failures,
            Metric::Duplicates => b.duplicates,
            Metric::MedianLatency => b.median_latency,
        }
    }

    /// `value` as the grader prints it (latency in seconds, 6 decimals).
    pub fn show(self, value: f64) -> String {
        match self {
            Metric::MedianLatency => format!("{value:.6}"),
            _ => format!("{value}"),
        }
    }
}

/// Where a metric lands against its three bounds; lower is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Bonus,
    Full,
    Partial,
    None,
}

impl Tier {
    pub const ALL: [Tier; 4] = [Tier::Bonus, Tier::Full, Tier::Partial, Tier::None];

    /// Bonus if `value < a`, full if `< b`, partial if `< c`, else none.
    pub fn of(value: f64, bounds: [f64; 3]) -> Tier {
        match bounds.iter().position(|&b| value < b) {
            Some(0) => Tier::Bonus,
            Some(1) => Tier::Full,
            Some(_) => Tier::Partial,
            None => Tier::None,
        }
    }

    /// Tier points as the course sums them: bonus 0 up to none 3.
    pub fn points(self) -> u32 {
        self as u32
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            Tier::Bonus => "bonus",
            Tier::Full => "full",
            Tier::Partial => "partial",
            Tier::None => "none",
        })
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
    pub(super) fn new(name: &'static str, ok: bool, detail: String) -> Self {
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
    /// Per metric, in the order of [`Metric::ALL`].
    pub tiers: [Tier; 4],
    /// Medians of `ok` answers alone, seconds.
    pub get_latency: f64,
    pub put_latency: f64,
    pub incorrect_examples: Vec<String>,
}

impl Score {
    pub fn value(&self, metric: Metric) -> f64 {
        match metric {
            Metric::TotalMsgs => self.total_msgs as f64,
            Metric::Failures => self.failures as f64,
            Metric::Duplicates => self.duplicates as f64,
            Metric::MedianLatency => self.median_latency,
        }
    }

    pub fn tier(&self, metric: Metric) -> Tier {
        self.tiers[metric as usize]
    }

    /// The tier points of the four metrics summed (lower is better).
    pub fn points(&self) -> u32 {
        self.tiers.iter().map(|t| t.points()).sum()
    }
}

/// The median (the mean of the middle two for an even count); 0 if empty.
pub fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.into_iter().collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The median as the course's simulator takes it for `median_latency`:
/// the middle value, the upper one of an even count (`latencies[n // 2]`
/// after sorting, its `run` line 216); 0 if there are none, as there.
pub fn course_median(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.into_iter().collect();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// A failure rate of `failed` runs in `runs`, in words: the share and its
/// 95% Wilson score interval ("2 of 10 failed: 20%, 95% interval 6-51%"),
/// which stays inside 0-100% and is honest for few runs and rare failures.
pub fn failure_rate(failed: usize, runs: usize) -> String {
    if runs == 0 {
        return "no runs".into();
    }
    let (k, n, z) = (failed as f64, runs as f64, 1.96_f64);
    let p = k / n;
    let centre = (p + z * z / (2.0 * n)) / (1.0 + z * z / n);
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / (1.0 + z * z / n);
    let pct = |x: f64| (100.0 * x.clamp(0.0, 1.0)).round();
    format!(
        "{failed} of {runs} failed: {}%, 95% interval {}-{}%",
        pct(p),
        pct(centre - half),
        pct(centre + half)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_follow_the_bounds() {
        let bounds = [1000.0, 3000.0, 4000.0];
        assert_eq!(Tier::of(999.0, bounds), Tier::Bonus);
        assert_eq!(Tier::of(1000.0, bounds), Tier::Full);
        assert_eq!(Tier::of(3500.0, bounds), Tier::Partial);
        assert_eq!(
            Tier::of(0.0, [0.0, 2.0, 5.0]),
            Tier::Full,
            "a bound of 0 cannot be beaten"
        );
        assert_eq!(Tier::of(5.0, [0.0, 2.0, 5.0]), Tier::None);
        assert_eq!(Tier::None.points(), 3);
    }

    #[test]
    fn failure_rates_carry_a_wilson_interval() {
        assert_eq!(
            failure_rate(2, 10),
            "2 of 10 failed: 20%, 95% interval 6-51%"
        );
        assert_eq!(failure_rate(0, 5), "0 of 5 failed: 0%, 95% interval 0-43%");
        assert_eq!(
            failure_rate(5, 5),
            "5 of 5 failed: 100%, 95% interval 57-100%"
        );
        assert_eq!(failure_rate(0, 0), "no runs");
    }

    #[test]
    fn the_course_takes_the_upper_middle_of_an_even_count() {
        assert_eq!(course_median([3.0, 1.0, 2.0]), 2.0);
        assert_eq!(course_median([4.0, 1.0, 2.0, 3.0]), 3.0);
        assert_eq!(course_median([]), 0.0);
    }

    #[test]
    fn median_of_odd_and_even() {
        assert_eq!(median([3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median([4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median([]), 0.0);
    }
}
