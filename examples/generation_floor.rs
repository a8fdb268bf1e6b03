//! The grader's "gets generated" check under a perfect replica: every
//! request answered `ok` at the moment it is sent (gets with the value the
//! client last put), so whatever still fails to generate is the workload's
//! own chance, not the replica's doing.
//!
//!     cargo run --release --example generation_floor -- ../shared/grading-sim/configs 10000
//!
//! Prints, per config, how many of seeds 1..=N fail the check (and which),
//! and the most gets that failed to generate in one run.

use raftplay::grader::GraderConfig;
use raftplay::grader::workload::Workload;
use raftplay::kv::{Op, Reply, Response};
use std::collections::HashMap;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(path), Some(seeds)) = (
        args.first(),
        args.get(1).and_then(|n| n.parse::<u64>().ok()),
    ) else {
        eprintln!("usage: generation_floor <config.json or folder> <seeds>");
        std::process::exit(2);
    };
    let configs = GraderConfig::load_all(std::slice::from_ref(path)).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2);
    });
    let mut total = (0, 0);
    for config in &configs {
        let (mut failed, mut worst) = (0, 0.0f64);
        let mut failing = Vec::new();
        for seed in 1..=seeds {
            let score = run(config, seed);
            let check = score
                .checks
                .iter()
                .find(|c| c.name == "gets generated")
                .expect("the check");
            if !check.ok {
                failing.push(seed);
            }
            failed += u64::from(!check.ok);
            let used: f64 = check
                .detail
                .split(' ')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0.0);
            worst = worst.max(used);
        }
        total = (total.0 + failed, total.1 + seeds);
        println!(
            "{:<14} {failed} of {seeds} seeds fail \"gets generated\"; at most {worst} failed to generate",
            config.name
        );
        if !failing.is_empty() {
            println!("    seeds: {failing:?}");
        }
    }
    println!(
        "{} of {} runs fail \"gets generated\" with a perfect replica",
        total.0, total.1
    );
}

/// One run of the workload against a replica that answers at once.
fn run(config: &GraderConfig, seed: u64) -> raftplay::grader::Score {
    let mut w = Workload::new(config, seed);
    let alive = [0];
    let mut data: HashMap<String, String> = HashMap::new();
    while let Some(now) = w.next_op_time() {
        if now > w.end_time() {
            break;
        }
        let Some((_, request)) = w.generate(now, &alive) else {
            continue;
        };
        let value = match &request.op {
            Op::Get { key } => Some(data.get(key).cloned().unwrap_or_default()),
            Op::Put { key, value } => {
                data.insert(key.clone(), value.clone());
                None
            }
        };
        let ok = Response {
            client: request.client,
            mid: request.mid,
            leader: Some(0),
            reply: Reply::Ok { value },
        };
        w.on_response(now, 0, ok, &alive);
    }
    w.score(0, 0)
}
