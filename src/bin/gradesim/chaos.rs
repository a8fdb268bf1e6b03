//! `gradesim chaos` and `gradesim exam`: the simulator's hostile runs
//! ([`raftplay::sim::chaos`]), and the exam of the checkers against the
//! core's deliberately broken variants ([`Bug`]).
//!
//!     gradesim chaos [--seed S] [--seeds N] [--nodes K] [--bug NAME] [--drift D]
//!                    [--read-mode lease|read_index] [--trace]
//!     gradesim exam  [--seed S] [--seeds N] [--drift D]
//!
//! Both spread seeds over the machine's cores, report progress on stderr,
//! and end with one summary line on stdout.

use super::{count, whole};
use raftplay::raft::Bug;
use raftplay::sim::chaos::{self, ChaosOptions, ChaosRun, DRIFT_BOUND};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// The chaos options every seed shares, and how many seeds.
pub struct ChaosArgs {
    pub base: ChaosOptions,
    pub seeds: u64,
}

pub fn parse(args: &[String]) -> Result<ChaosArgs, String> {
    let mut a = ChaosArgs {
        base: ChaosOptions::default(),
        seeds: 1,
    };
    let o = &mut a.base;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value")).cloned();
        match arg.as_str() {
            "--seed" => o.seed = whole(arg, &value()?)?,
            "--seeds" => a.seeds = count(arg, &value()?)?,
            "--nodes" => {
                let n = whole(arg, &value()?)? as usize;
                if !(1..=64).contains(&n) {
                    return Err(format!("--nodes must be from 1 to 64, got {n}"));
                }
                o.nodes = Some(n);
            }
            "--bug" => o.bug = Some(Bug::parse(&value()?)?),
            "--drift" => o.drift = super::drift(arg, &value()?)?,
            "--read-mode" => o.read_mode = Some(value()?.parse()?),
            "--trace" => o.trace = true,
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(a)
}

impl ChaosArgs {
    fn options(&self, seed: u64, bug: Option<Bug>) -> ChaosOptions {
        ChaosOptions {
            seed,
            bug,
            ..self.base.clone()
        }
    }

    /// The command that replays one seed with a trace.
    fn replay(&self, seed: u64, bug: Option<Bug>) -> String {
        let o = &self.base;
        let mut cmd = format!("gradesim chaos --seed {seed} --trace");
        if let Some(n) = o.nodes {
            cmd += &format!(" --nodes {n}");
        }
        if let Some(b) = bug {
            cmd += &format!(" --bug {}", b.name());
        }
        if o.drift != DRIFT_BOUND {
            cmd += &format!(" --drift {}", o.drift);
        }
        if let Some(m) = o.read_mode {
            cmd += &format!(" --read-mode {}", m.name());
        }
        cmd
    }
}

/// Runs `jobs` on every core; `done` is told of each result as it comes.
fn parallel<T: Send>(
    jobs: Vec<(u64, Option<Bug>)>,
    run: impl Fn(u64, Option<Bug>) -> T + Sync,
    done: impl Fn(usize, &T) + Sync,
) -> Vec<T> {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let next = AtomicU64::new(0);
    let results: Mutex<Vec<(usize, T)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst) as usize;
                    let Some(&(seed, bug)) = jobs.get(i) else {
                        break;
                    };
                    let result = run(seed, bug);
                    let mut all = results.lock().expect("no panics while held");
                    done(all.len() + 1, &result);
                    all.push((i, result));
                }
            });
        }
    });
    let mut all = results.into_inner().expect("no panics while held");
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, r)| r).collect()
}

fn progress(done: usize, total: usize, started: Instant) {
    if done.is_multiple_of(100) || done == total {
        let secs = started.elapsed().as_secs_f64();
        eprintln!("  {done}/{total} runs, {secs:.1} s");
    }
}

/// `gradesim chaos`: prints each failure with its replay command.
pub fn chaos(args: &ChaosArgs) -> Result<bool, String> {
    let started = Instant::now();
    let jobs: Vec<(u64, Option<Bug>)> = (0..args.seeds)
        .map(|i| (args.base.seed + i, args.base.bug))
        .collect();
    let total = jobs.len();
    let runs = parallel(
        jobs,
        |seed, bug| chaos::run(&args.options(seed, bug)),
        |done, _| progress(done, total, started),
    );
    let mut failed = 0;
    for run in runs {
        let run = run?;
        if args.base.trace {
            for line in &run.trace {
                println!("{line}");
            }
        }
        if let Some(f) = &run.failure {
            failed += 1;
            println!("seed {} FAIL ({}): {}", run.seed, run.describe(), f.detail);
            println!("    replay: {}", args.replay(run.seed, run.raft.bug));
        } else if args.seeds == 1 {
            let (ops, answered) = (run.operations, run.answered);
            println!(
                "seed {} PASS ({}): {answered} of {ops} operations answered",
                run.seed,
                run.describe()
            );
        }
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!("{} runs in {secs:.1} s", args.seeds);
    println!("{} passed, {failed} failed", args.seeds - failed);
    Ok(failed == 0)
}

#[derive(Default)]
struct Tally {
    caught: u64,
    by_check: BTreeMap<String, u64>,
    /// The earliest seed that caught it, and when.
    first: Option<(u64, f64, String)>,
}

impl Tally {
    fn add(&mut self, run: &ChaosRun) {
        let Some(f) = &run.failure else {
            return;
        };
        self.caught += 1;
        *self.by_check.entry(f.check.clone()).or_default() += 1;
        if self.first.as_ref().is_none_or(|(s, _, _)| run.seed < *s) {
            self.first = Some((
                run.seed,
                raftplay::raft::time::as_secs(f.at),
                f.check.clone(),
            ));
        }
    }
}

impl Tally {
    /// A variant's line of the exam's table: how many seeds caught it, by
    /// which checks, and the first catch.
    fn row(&self, bug: Bug, seeds: u64) -> String {
        let share = 100.0 * self.caught as f64 / seeds as f64;
        let checks: Vec<String> = (self.by_check.iter())
            .map(|(c, n)| format!("{c} {n}"))
            .collect();
        let first = self
            .first
            .as_ref()
            .map_or("-".to_string(), |(seed, at, check)| {
                format!("seed {seed} at {at:.3} s ({check})")
            });
        format!(
            "{:<26} {:>5} ({:>5.1}%)  {:<44} {first}",
            bug.name(),
            self.caught,
            share,
            checks.join(", "),
        )
    }
}

/// `gradesim exam`: every bug variant through the same chaos seeds, and
/// the correct core too.
pub fn exam(args: &ChaosArgs) -> Result<bool, String> {
    let started = Instant::now();
    let variants: Vec<Option<Bug>> = std::iter::once(None).chain(Bug::ALL.map(Some)).collect();
    let mut jobs = Vec::new();
    for &bug in &variants {
        jobs.extend((0..args.seeds).map(|i| (args.base.seed + i, bug)));
    }
    let total = jobs.len();
    eprintln!(
        "exam: {} variants and the correct core, {} seeds each from seed {}",
        Bug::ALL.len(),
        args.seeds,
        args.base.seed
    );
    let runs = parallel(
        jobs,
        |seed, bug| chaos::run(&args.options(seed, bug)).map(|r| (bug, r)),
        |done, _| progress(done, total, started),
    );
    let mut tallies: BTreeMap<Option<Bug>, Tally> = BTreeMap::new();
    let mut alarms = Vec::new();
    for result in runs {
        let (bug, run) = result?;
        if bug.is_none() && run.failure.is_some() {
            alarms.push(run.seed);
        }
        tallies.entry(bug).or_default().add(&run);
    }
    println!(
        "{:<26} {:>14}  {:<44} first catch",
        "variant", "caught", "by check (seeds)"
    );
    let mut caught_variants = 0;
    for bug in Bug::ALL {
        let t = tallies.remove(&Some(bug)).unwrap_or_default();
        caught_variants += (t.caught > 0) as usize;
        println!("{}", t.row(bug, args.seeds));
    }
    for seed in &alarms {
        println!(
            "correct core alarm: seed {seed}; replay: {}",
            args.replay(*seed, None)
        );
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!("{total} runs in {secs:.1} s");
    println!(
        "caught {caught_variants} of {} variants; correct core: {} alarms",
        Bug::ALL.len(),
        alarms.len()
    );
    Ok(caught_variants == Bug::ALL.len() && alarms.is_empty())
}
