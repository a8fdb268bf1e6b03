//! Simulator throughput and protocol cost on the project's 5-node configs.
//!
//!     cargo bench --bench sim
//!
//! Reports virtual seconds simulated per CPU second (with the safety checks
//! on, as in every test) and replica messages per client operation.

use raftplay::grader::GraderConfig;
use raftplay::grader::{SimOptions, run_sim};
use std::time::Instant;

fn main() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/configs");
    let configs = GraderConfig::load_all(&[dir.to_string()]).expect("configs load");
    println!(
        "{:<16} {:>6} {:>14} {:>14} {:>12}",
        "config", "runs", "virtual s/s", "msgs per op", "events/s"
    );
    for config in configs.iter().filter(|c| c.replicas == 5) {
        let seeds = 20;
        let started = Instant::now();
        let (mut virtual_s, mut messages, mut events) = (0.0, 0u64, 0u64);
        for seed in 1..=seeds {
            let options = SimOptions {
                seed,
                ..SimOptions::default()
            };
            let o = run_sim(config, &options).expect("runs");
            assert!(o.passed(), "{} seed {seed} failed", config.name);
            virtual_s += o.virtual_seconds;
            messages += o.score.total_msgs;
            events += o.events;
        }
        let cpu = started.elapsed().as_secs_f64();
        let ops = config.requests * seeds;
        println!(
            "{:<16} {:>6} {:>14.0} {:>14.2} {:>12.0}",
            config.name,
            seeds,
            virtual_s / cpu,
            messages as f64 / ops as f64,
            events as f64 / cpu
        );
    }
}
