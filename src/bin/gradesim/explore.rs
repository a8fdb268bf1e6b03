//! `gradesim explore`: the explorer ([`raftplay::explore`]) from the
//! command line.
//!
//!     gradesim explore [--nodes N] [--depth D] [--max-states S] [--bug NAME]
//!                      [--read-mode lease|read_index|log] [--no-prevote]
//!                      [--no-check-quorum] [--no-vote-guard] [--timing prompt|any] [--drift D]
//!                      [--start fresh|leader] [--crashes K] [--duplicates K]
//!                      [--drops K] [--puts K] [--gets K] [--requests any|leaders]
//!                      [--link-capacity K] [--max-append E] [--seed S] [--threads T]
//!                      [--out FILE]
//!     gradesim explore --exam [the same bounds]
//!
//! On a violation: prints the shortest trace in the trace's sentences,
//! writes it as a replayable file (`--out`, default `counterexample.json`;
//! `gradesim replay FILE` and the page's import open it) and exits 1.
//! Otherwise prints the states, depth and speed and exits 0. With `--exam`,
//! every planted variant ([`Bug::ALL`]) and then the correct core; the last
//! line is `explore: caught N of M variants; correct core: S states, 0
//! violations`.

use super::{count, whole};
use raftplay::explore::{self, Found, Options, Report, Stop};
use raftplay::raft::Bug;
use std::path::PathBuf;
use std::time::Instant;

pub struct ExploreArgs {
    options: Options,
    exam: bool,
    out: PathBuf,
}

pub fn parse(args: &[String]) -> Result<ExploreArgs, String> {
    let mut a = ExploreArgs {
        options: Options {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            ..Options::default()
        },
        exam: false,
        out: PathBuf::from("counterexample.json"),
    };
    let o = &mut a.options;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value")).cloned();
        let small = |v: String| whole(arg, &v).map(|n| n.min(u32::MAX as u64) as u32);
        match arg.as_str() {
            "--nodes" => o.nodes = count(arg, &value()?)? as usize,
            "--depth" => o.depth = count(arg, &value()?)? as usize,
            "--max-states" => o.max_states = count(arg, &value()?)?,
            "--seed" => o.seed = whole(arg, &value()?)?,
            "--threads" => o.threads = count(arg, &value()?)? as usize,
            "--bug" => o.raft.bug = Some(Bug::parse(&value()?)?),
            "--read-mode" => o.raft.read_mode = value()?.parse()?,
            "--no-prevote" => o.raft.pre_vote = false,
            "--no-check-quorum" => o.raft.check_quorum = false,
            "--no-vote-guard" => o.raft.vote_guard = false,
            "--max-append" => o.raft.max_append_entries = count(arg, &value()?)? as usize,
            "--timing" => o.timing = value()?.parse()?,
            "--drift" => o.drift = super::drift(arg, &value()?)?,
            "--start" => o.start = value()?.parse()?,
            "--crashes" => o.crashes = small(value()?)?,
            "--duplicates" => o.duplicates = small(value()?)?,
            "--drops" => o.drops = small(value()?)?,
            "--puts" => o.puts = small(value()?)?,
            "--requests" => o.requests = value()?.parse()?,
            "--gets" => o.gets = small(value()?)?,
            "--link-capacity" => o.link_capacity = Some(count(arg, &value()?)? as usize),
            "--out" => a.out = PathBuf::from(value()?),
            "--exam" => a.exam = true,
            other => return Err(format!("unknown option {other}")),
        }
    }
    if a.exam && a.options.raft.bug.is_some() {
        return Err("--exam runs every variant: drop --bug".into());
    }
    a.options.validate()?;
    Ok(a)
}

/// Runs one search with a progress line per level on stderr.
fn run(options: &Options, label: &str) -> Result<(Report, f64), String> {
    let started = Instant::now();
    let report = explore::search(options, |level| {
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "  {label}: depth {} done, {} states ({} to expand), {secs:.1} s",
            level.depth, level.states, level.frontier
        );
        true
    })?;
    Ok((report, started.elapsed().as_secs_f64()))
}

fn describe_stop(report: &Report) -> &'static str {
    match report.stop {
        Stop::Found => "a check broke",
        Stop::Exhausted => "every reachable state within the budgets was seen",
        Stop::Depth => "every run up to the depth bound was seen",
        Stop::States => "the state bound was reached",
        Stop::Cancelled => "cancelled",
    }
}

/// Prints a counterexample step by step, in the trace's sentences.
fn print_found(options: &Options, found: &Found) -> Result<(), String> {
    let replayed = explore::replay(options, &found.events)?;
    print_replayed(&replayed);
    println!("VIOLATION {}", found.broken.what);
    Ok(())
}

/// Each step of a replayed path, and the sentences it caused.
pub fn print_replayed(replayed: &explore::Replayed) {
    if !replayed.prelude.is_empty() {
        println!("start: a first election, every message delivered in order");
    }
    for (n, step) in replayed.steps.iter().enumerate() {
        println!("step {:>2} at {:.3} s: {}", n + 1, step.at, step.what);
        for line in &step.lines {
            println!("          {line}");
        }
    }
}

/// `gradesim explore`: one search, or the exam.
pub fn explore(args: &ExploreArgs) -> Result<bool, String> {
    if args.exam {
        return exam(args);
    }
    let o = &args.options;
    let label = o.raft.bug.map_or("correct core", Bug::name);
    let (report, secs) = run(o, label)?;
    let rate = report.states as f64 / secs.max(1e-9);
    println!(
        "{} states, {} transitions, depth {} of {}, {secs:.1} s ({rate:.0} states/s): {}",
        report.states,
        report.transitions,
        report.depth,
        o.depth,
        describe_stop(&report)
    );
    let Some(found) = &report.found else {
        println!("0 violations");
        return Ok(true);
    };
    print_found(o, found)?;
    let file = explore::Counterexample {
        explore: o.clone(),
        found: found.clone(),
    };
    let (value, record) = raftplay::playground::counterexample::file(&file);
    let text = serde_json::to_string_pretty(&value).map_err(|e| e.to_string())?;
    std::fs::write(&args.out, text).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let n = found.events.len();
    println!(
        "shortest trace: {n} event{}; written to {out} (gradesim replay {out} replays it, the page's import opens it)",
        if n == 1 { "" } else { "s" },
        out = args.out.display()
    );
    match record {
        Ok(record) => println!(
            "on the page (make run): http://127.0.0.1:8000/{}",
            raftplay::playground::counterexample::link_fragment(&record)
        ),
        Err(e) => println!("the page cannot open it: {e}"),
    }
    Ok(false)
}

/// Every planted variant, then the correct core, with the same bounds.
fn exam(args: &ExploreArgs) -> Result<bool, String> {
    println!(
        "{:<26} {:>7} {:>9} {:>8}  check",
        "variant", "events", "states", "seconds"
    );
    let mut caught = 0;
    for bug in Bug::ALL {
        let options = args.options.for_bug(bug);
        let (report, secs) = run(&options, bug.name())?;
        let (events, check) = match &report.found {
            Some(f) => {
                caught += 1;
                (f.events.len().to_string(), f.broken.check.clone())
            }
            None => (
                "-".to_string(),
                format!("not found: {}", describe_stop(&report)),
            ),
        };
        println!(
            "{:<26} {events:>7} {:>9} {secs:>8.1}  {check}",
            bug.name(),
            report.states
        );
    }
    let (report, secs) = run(&args.options, "correct core")?;
    let violations = usize::from(report.found.is_some());
    if let Some(found) = &report.found {
        print_found(&args.options, found)?;
    }
    println!(
        "correct core: {} states, depth {} of {}, {secs:.1} s ({:.0} states/s): {}",
        report.states,
        report.depth,
        args.options.depth,
        report.states as f64 / secs.max(1e-9),
        describe_stop(&report)
    );
    println!(
        "explore: caught {caught} of {} variants; correct core: {} states, {violations} violations",
        Bug::ALL.len(),
        report.states
    );
    Ok(caught == Bug::ALL.len() && violations == 0)
}
