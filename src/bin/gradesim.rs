//! `gradesim`: the course grader, on the simulator or over real UDP.
//!
//!     gradesim sim <config.json or folder>... [--seed S] [--seeds N] [--json] [--summary]
//!
//! Prints one line per run in the grader's style, then `N passed, M failed`;
//! exits 0 only if every run passed.

use raftplay::sim::config::GraderConfig;
use raftplay::sim::grader::{METRICS, SimOptions, SimOutcome, TIER_NAMES, run_sim};
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str = "usage: gradesim sim <config.json or folder>... [--seed S] [--seeds N] [--json] [--summary] [--trace]";

struct Args {
    paths: Vec<String>,
    seed: Option<u64>,
    seeds: u64,
    json: bool,
    summary: bool,
    trace: bool,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut a = Args {
        paths: Vec::new(),
        seed: None,
        seeds: 1,
        json: false,
        summary: false,
        trace: false,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut number = |name: &str| -> Result<u64, String> {
            let v = it.next().ok_or(format!("{name} needs a value"))?;
            v.parse()
                .map_err(|_| format!("{name} needs a whole number, got {v:?}"))
        };
        match arg.as_str() {
            "--seed" => a.seed = Some(number("--seed")?),
            "--seeds" => a.seeds = number("--seeds")?.max(1),
            "--json" => a.json = true,
            "--summary" => a.summary = true,
            "--trace" => a.trace = true,
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
            path => a.paths.push(path.to_string()),
        }
    }
    if a.paths.is_empty() {
        return Err("no config given".into());
    }
    Ok(a)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("sim") => sim(&args[1..]),
        Some("-h" | "--help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn random_seed() -> u64 {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_or(1, |_| u64::from_le_bytes(bytes))
}

fn sim(args: &[String]) -> ExitCode {
    let args = match parse(args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("gradesim: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let configs = match GraderConfig::load_all(&args.paths) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gradesim: {e}");
            return ExitCode::from(2);
        }
    };
    let first_seed = args.seed.unwrap_or_else(random_seed);
    let started = Instant::now();
    let mut outcomes: Vec<SimOutcome> = Vec::new();
    let mut virtual_seconds = 0.0;
    for config in &configs {
        for seed in first_seed..first_seed + args.seeds {
            let options = SimOptions {
                seed,
                trace: args.trace,
                ..SimOptions::default()
            };
            let outcome = match run_sim(config, &options) {
                Ok(o) => o,
                Err(e) => {
                    eprintln!("gradesim: {}: {e}", config.name);
                    return ExitCode::from(2);
                }
            };
            for line in &outcome.trace {
                println!("{line}");
            }
            virtual_seconds += outcome.virtual_seconds;
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string(&outcome).expect("outcome serialises")
                );
            } else {
                println!("{}", line(&outcome));
            }
            outcomes.push(outcome);
        }
    }
    let cpu = started.elapsed().as_secs_f64();
    if args.summary {
        print_summary(&outcomes);
    }
    eprintln!(
        "simulated {virtual_seconds:.0} virtual s in {cpu:.2} s: {:.0} virtual s per second",
        virtual_seconds / cpu.max(1e-9)
    );
    let passed = outcomes.iter().filter(|o| o.passed()).count();
    println!("{passed} passed, {} failed", outcomes.len() - passed);
    if passed == outcomes.len() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn line(o: &SimOutcome) -> String {
    let s = &o.score;
    let verdict = if o.passed() { "PASS" } else { "FAIL" };
    let values = [
        s.total_msgs.to_string(),
        s.failures.to_string(),
        s.duplicates.to_string(),
        format!("{:.6}", s.median_latency),
    ];
    let metrics: Vec<String> = (0..4)
        .map(|i| {
            format!(
                "{} {} ({})",
                METRICS[i], values[i], TIER_NAMES[s.tiers[i] as usize]
            )
        })
        .collect();
    let mut text = format!(
        "{:<14} seed {:<6} {verdict}  {}",
        o.name,
        o.seed,
        metrics.join("  ")
    );
    let failed: Vec<String> = s
        .checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| format!("{}: {}", c.name, c.detail))
        .collect();
    if !failed.is_empty() {
        text += &format!("\n    failed checks: {}", failed.join("; "));
    }
    for example in &s.incorrect_examples {
        text += &format!("\n    incorrect: {example}");
    }
    if let Some(v) = &o.violation {
        text += &format!("\n    safety violation: {v}");
    }
    if let Err(e) = &o.linearizable {
        text += &format!("\n    not linearizable: {e}");
    }
    if o.packet_storm {
        text += "\n    packet storm: max_packets reached";
    }
    text
}

/// Per config: the share of runs at each tier per metric, and the worst run.
fn print_summary(outcomes: &[SimOutcome]) {
    let mut by_name: BTreeMap<&str, Vec<&SimOutcome>> = BTreeMap::new();
    let mut order = Vec::new();
    for o in outcomes {
        if !by_name.contains_key(o.name.as_str()) {
            order.push(o.name.as_str());
        }
        by_name.entry(&o.name).or_default().push(o);
    }
    println!("summary: per metric, % of runs at bonus/full/partial/none; worst run");
    for name in order {
        let runs = &by_name[name];
        let shares: Vec<String> = (0..4)
            .map(|m| {
                let pct = |t: u8| {
                    100.0 * runs.iter().filter(|o| o.score.tiers[m] == t).count() as f64
                        / runs.len() as f64
                };
                format!(
                    "{} {:.0}/{:.0}/{:.0}/{:.0}",
                    METRICS[m],
                    pct(0),
                    pct(1),
                    pct(2),
                    pct(3)
                )
            })
            .collect();
        let worst = runs
            .iter()
            .max_by_key(|o| {
                (
                    !o.passed(),
                    o.score.tiers.iter().map(|&t| t as u32).sum::<u32>(),
                    o.score.total_msgs,
                )
            })
            .unwrap();
        println!("{name:<14} {}", shares.join("  "));
        println!("    worst: {}", line(worst));
    }
}
