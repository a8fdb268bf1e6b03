//! `gradesim`: the course grader, on the simulator or over real UDP.
//!
//!     gradesim sim <config.json or folder>... [--seed S] [--seeds N] [--json] [--summary] [--trace]
//!     gradesim udp <config.json or folder>... [--replica PATH] [--runs N] [--time-scale F]
//!                                             [--seed S] [--json] [--summary] [--echo]
//!     gradesim explore [--bug NAME | --exam] [bounds...]
//!     gradesim replay RUN.json
//!
//! Prints one line per run in the grader's style, then `N passed, M failed`;
//! exits 0 only if every run passed, 2 on bad usage or input.

mod chaos;
mod explore;
mod record;
mod replay;
#[cfg(unix)]
mod udp;

use raftplay::grader::{
    GraderConfig, Metric, Outcome, SimOptions, Tier, failure_rate, median, run_sim,
};
use raftplay::raft::CommitNotice;
use raftplay::sim::cluster::Cause;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str = "usage:
  gradesim sim <config.json or folder>... [--seed S] [--seeds N] [--json] [--summary] [--trace]
                                          [--no-pace] [--record PATH] [--record-failures DIR]
  gradesim udp <config.json or folder>... [--replica PATH] [--runs N] [--time-scale F]
                                          [--seed S] [--json] [--summary] [--echo]
                                          [--record PATH] [--record-failures DIR] [--router course|fast]
      --router: course (the default) routes as the course's simulator does, one thread
      waiting up to 100 ms, a datagram per ready socket at its cost, then the events due;
      fast routes every datagram at once from a thread per socket
  --commit-notice WHEN (both): when replicas announce a commit at once: never, always or
      after_failover (the default: while the leader they took over from is silent)
  --no-spare (both): no spare follower in the quorum fan-out, however many messages are lost
      (to measure what it costs and buys; udp: sets RAFTPLAY_NO_SPARE for the replicas)
  --forgive-generation (both): runs that fail only the grader's \"gets generated\" check (a get due
      for a client with no acknowledged put: chance, which a perfect replica meets too) do not
      fail the exit status; they are still printed as FAIL
  gradesim chaos [--seed S] [--seeds N] [--nodes K] [--bug NAME] [--drift D]
                 [--read-mode lease|read_index|log] [--trace]
  gradesim exam  [--seed S] [--seeds N] [--drift D]
  gradesim explore [--nodes N] [--depth D] [--max-states S] [--bug NAME] [--exam]
                   [--read-mode lease|read_index|log] [--no-prevote] [--no-check-quorum]
                   [--no-vote-guard] [--timing prompt|any] [--drift D] [--start fresh|leader]
                   [--crashes K] [--duplicates K] [--drops K] [--puts K] [--gets K] [--requests any|leaders]
                   [--link-capacity K] [--max-append E]
                   [--seed S] [--threads T] [--out FILE]
      (every interleaving, breadth-first: the shortest run that breaks a check)
  gradesim replay RUN.json   (a run exported from the playground: its events, then its lights)
  gradesim show RUN.jsonl|DIR  (a recording made with --record: what it holds; a folder: a line per run)
  --record PATH (both) records one run into the file PATH; with several runs or configs
      (or PATH a folder), a file per run in the folder PATH, named CONFIG-SEED.jsonl
  --record-failures DIR (both) the same into the folder DIR, keeping only the failing runs
      (the last lines name each with what it failed); gradesim show DIR lists them";

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Sim,
    Udp,
}

struct Args {
    mode: Mode,
    paths: Vec<String>,
    seed: Option<u64>,
    runs: u64,
    json: bool,
    summary: bool,
    trace: bool,
    echo: bool,
    replica: Option<PathBuf>,
    time_scale: f64,
    commit_notice: Option<CommitNotice>,
    no_spare: bool,
    no_pace: bool,
    record: Option<PathBuf>,
    /// With `--record-failures`: the folder keeps only the failing runs.
    failures_only: bool,
    router: Router,
    /// Runs that fail only "gets generated" do not fail the exit status.
    forgive_generation: bool,
}

/// How `gradesim udp` routes datagrams (see `udp`'s module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Router {
    Course,
    Fast,
}

impl std::str::FromStr for Router {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "course" => Ok(Router::Course),
            "fast" => Ok(Router::Fast),
            _ => Err(format!("--router is course or fast, got {s:?}")),
        }
    }
}

/// A whole-number option's value.
fn whole(name: &str, v: &str) -> Result<u64, String> {
    v.parse()
        .map_err(|_| format!("{name} needs a whole number, got {v:?}"))
}

/// A clock drift: a fraction in [0, 0.5).
fn drift(name: &str, v: &str) -> Result<f64, String> {
    let d: f64 = v
        .parse()
        .map_err(|_| format!("{name} needs a number, got {v:?}"))?;
    if !(0.0..0.5).contains(&d) {
        return Err(format!("{name} must be in [0, 0.5), got {d}"));
    }
    Ok(d)
}

/// How many seeds or runs: a whole number, at least 1.
fn count(name: &str, v: &str) -> Result<u64, String> {
    match whole(name, v)? {
        0 => Err(format!("{name} must be at least 1")),
        n => Ok(n),
    }
}

fn parse(mode: Mode, args: &[String]) -> Result<Args, String> {
    let mut a = Args {
        mode,
        paths: Vec::new(),
        seed: None,
        runs: 1,
        json: false,
        summary: false,
        trace: false,
        echo: false,
        replica: None,
        time_scale: 1.0,
        commit_notice: None,
        no_spare: false,
        no_pace: false,
        record: None,
        failures_only: false,
        router: Router::Course,
        forgive_generation: false,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value")).cloned();
        match (mode, arg.as_str()) {
            (_, "--seed") => a.seed = Some(whole("--seed", &value("--seed")?)?),
            (Mode::Sim, "--seeds") | (Mode::Udp, "--runs") => a.runs = count(arg, &value(arg)?)?,
            (_, "--json") => a.json = true,
            (_, "--no-spare") => a.no_spare = true,
            (_, "--summary") => a.summary = true,
            (_, "--forgive-generation") => a.forgive_generation = true,
            (_, "--commit-notice") => a.commit_notice = Some(value("--commit-notice")?.parse()?),
            (Mode::Sim, "--trace") => a.trace = true,
            (Mode::Sim, "--no-pace") => a.no_pace = true,
            (Mode::Udp, "--echo") => a.echo = true,
            (Mode::Udp, "--router") => a.router = value("--router")?.parse()?,
            (_, "--record") => a.record = Some(PathBuf::from(value("--record")?)),
            (_, "--record-failures") => {
                a.record = Some(PathBuf::from(value("--record-failures")?));
                a.failures_only = true;
            }
            (Mode::Udp, "--replica") => a.replica = Some(PathBuf::from(value("--replica")?)),
            (Mode::Udp, "--time-scale") => {
                let v = value("--time-scale")?;
                a.time_scale = v
                    .parse()
                    .map_err(|_| format!("--time-scale needs a number, got {v:?}"))?;
            }
            (_, flag) if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
            (_, path) => a.paths.push(path.to_string()),
        }
    }
    if a.paths.is_empty() {
        return Err("no config given".into());
    }
    Ok(a)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `gradesim --help` or `gradesim COMMAND --help`: the usage, and success.
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let rest = &args[1..];
    // Which command, and whether its errors come with the usage.
    let (outcome, usage) = match args.first().map(String::as_str) {
        Some("explore") => (
            explore::parse(rest).and_then(|a| explore::explore(&a)),
            true,
        ),
        Some("show") => {
            quiet_on_closed_pipe();
            (record::show(rest), false)
        }
        Some("replay") => (replay::replay(rest), false),
        Some("chaos") => (chaos::parse(rest).and_then(|a| chaos::chaos(&a)), true),
        Some("exam") => (chaos::parse(rest).and_then(|a| chaos::exam(&a)), true),
        Some("sim") => (parse(Mode::Sim, rest).and_then(|a| run(&a)), true),
        Some("udp") => (parse(Mode::Udp, rest).and_then(|a| run(&a)), true),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) if usage => {
            eprintln!("gradesim: {e}\n{USAGE}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("gradesim: {e}");
            ExitCode::from(2)
        }
    }
}

/// `gradesim show RUN | head`: when the reader goes away, end quietly as
/// other Unix tools do, not with a panic on the broken pipe.
fn quiet_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: restoring the default action of one signal, before any thread
    // starts; nothing else in this process handles SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn random_seed() -> u64 {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_or(1, |_| u64::from_le_bytes(bytes))
}

/// The replica to launch: `--replica`, else `./3700kvstore`, else the
/// release build.
fn replica_path(given: &Option<PathBuf>) -> Result<PathBuf, String> {
    let candidates = match given {
        Some(p) => vec![p.clone()],
        None => vec![
            PathBuf::from("./3700kvstore"),
            PathBuf::from("target/release/3700kvstore"),
        ],
    };
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .ok_or_else(|| "no replica found: build it with `make`, or pass --replica PATH".into())
}

/// Where each run is recorded: one file (`--record FILE`, one run), or a
/// folder with a file per run named after its config and seed.
enum Recording {
    None,
    File(PathBuf),
    Folder { dir: PathBuf, failures_only: bool },
}

impl Recording {
    fn of(args: &Args, configs: usize) -> Result<Recording, String> {
        let Some(path) = &args.record else {
            return Ok(Recording::None);
        };
        let many = args.runs > 1 || configs > 1;
        if !many && !args.failures_only && !path.is_dir() {
            return Ok(Recording::File(path.clone()));
        }
        if path.is_file() {
            return Err(format!(
                "{} is a file: several runs are recorded into a folder, a file each",
                path.display()
            ));
        }
        std::fs::create_dir_all(path)
            .map_err(|e| format!("cannot make the folder {}: {e}", path.display()))?;
        Ok(Recording::Folder {
            dir: path.clone(),
            failures_only: args.failures_only,
        })
    }

    fn path(&self, config: &str, seed: u64) -> Option<PathBuf> {
        match self {
            Recording::None => None,
            Recording::File(p) => Some(p.clone()),
            Recording::Folder { dir, .. } => Some(dir.join(format!("{config}-{seed}.jsonl"))),
        }
    }

    /// After a run: a passing one leaves the folder of failures; returns
    /// the file kept, if any.
    fn keep(&self, path: Option<PathBuf>, passed: bool) -> Result<Option<PathBuf>, String> {
        let Some(path) = path else { return Ok(None) };
        if passed
            && matches!(
                self,
                Recording::Folder {
                    failures_only: true,
                    ..
                }
            )
        {
            std::fs::remove_file(&path)
                .map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
            return Ok(None);
        }
        Ok(Some(path))
    }
}

fn run_one(
    args: &Args,
    config: &GraderConfig,
    seed: u64,
    record: Option<&PathBuf>,
) -> Result<Outcome, String> {
    match args.mode {
        Mode::Sim => {
            let mut options = SimOptions {
                seed,
                trace: args.trace,
                ..SimOptions::default()
            };
            if let Some(notice) = args.commit_notice {
                options.raft.commit_notice = notice;
            }
            if args.no_spare {
                options.raft.spare_below = 0.0;
            }
            options.pace = !args.no_pace;
            match record {
                Some(path) => record::run_sim(config, &options, path),
                None => run_sim(config, &options),
            }
        }
        #[cfg(unix)]
        Mode::Udp => {
            let options = udp::UdpOptions {
                replica: replica_path(&args.replica)?,
                seed,
                echo: args.echo,
                commit_notice: args.commit_notice,
                no_spare: args.no_spare,
                record: record.cloned(),
                router: args.router,
            };
            udp::run_udp(config, &options)
        }
        #[cfg(not(unix))]
        Mode::Udp => Err("udp mode needs a Unix system".into()),
    }
}

fn run(args: &Args) -> Result<bool, String> {
    let mut configs = GraderConfig::load_all(&args.paths)?;
    let recording = Recording::of(args, configs.len())?;
    if args.mode == Mode::Udp {
        replica_path(&args.replica)?;
        #[cfg(unix)]
        udp::install_interrupt_handler();
        configs = configs
            .iter()
            .map(|c| c.scaled(args.time_scale))
            .collect::<Result<_, _>>()?;
    }
    let first_seed = args.seed.unwrap_or_else(random_seed);
    let started = Instant::now();
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut covered = 0.0;
    let mut kept: Vec<(PathBuf, String)> = Vec::new();
    for config in &configs {
        for seed in first_seed..first_seed + args.runs {
            let path = recording.path(&config.name, seed);
            let outcome = run_one(args, config, seed, path.as_ref())
                .map_err(|e| format!("{}: {e}", config.name))?;
            let file = recording.keep(path, outcome.passed())?;
            if let Some(file) = file.filter(|_| !outcome.passed()) {
                kept.push((file, failed_checks(&outcome)));
            }
            for line in &outcome.trace {
                println!("{line}");
            }
            covered += outcome.virtual_seconds;
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
    if args.mode == Mode::Sim {
        eprintln!(
            "simulated {covered:.0} virtual s in {cpu:.2} s: {:.0} virtual s per second",
            covered / cpu.max(1e-9)
        );
    }
    for (file, failed) in &kept {
        println!("failing run kept: {} ({failed})", file.display());
    }
    let passed = outcomes.iter().filter(|o| o.passed()).count();
    let chance = outcomes
        .iter()
        .filter(|o| o.failed_by_chance_only())
        .count();
    if args.forgive_generation && chance > 0 {
        println!(
            "{chance} of the failed runs failed only \"gets generated\", which a replica that answers at once fails by chance too: forgiven (--forgive-generation)"
        );
    }
    println!("{passed} passed, {} failed", outcomes.len() - passed);
    let forgiven = if args.forgive_generation { chance } else { 0 };
    Ok(passed + forgiven == outcomes.len())
}

/// What a failing run failed, in a few words: the grader's failed checks
/// and what the simulator's own checks saw.
fn failed_checks(o: &Outcome) -> String {
    let mut why: Vec<String> = o
        .score
        .checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.name.to_string())
        .collect();
    if o.violation.is_some() {
        why.push("safety violation".into());
    }
    if o.linearizable.is_err() {
        why.push("not linearizable".into());
    }
    if o.answers.is_err() {
        why.push("answers".into());
    }
    why.join(", ")
}

fn line(o: &Outcome) -> String {
    let s = &o.score;
    let verdict = if o.passed() { "PASS" } else { "FAIL" };
    let metrics: Vec<String> = Metric::ALL
        .iter()
        .map(|&m| format!("{} {} ({})", m.name(), m.show(s.value(m)), s.tier(m)))
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
    if let Err(e) = &o.answers {
        text += &format!("\n    {e}");
    }
    if o.packet_storm {
        text += "\n    packet storm: max_packets reached";
    }
    if let Some((grader, replicas)) = o.socket_drops.filter(|d| *d != (0, 0)) {
        text += &format!(
            "\n    receive buffers overflowed: the kernel dropped {grader} datagrams to the grader's sockets and {replicas} to the replicas'"
        );
    }
    text
}

/// One metric over runs: its median, the median's tier, and the share of
/// runs at each tier ("total_msgs 1709 (bonus) 100/0/0/0").
fn metric_summary(runs: &[&Outcome], m: Metric) -> String {
    let pct = |t: Tier| {
        let at = runs.iter().filter(|o| o.score.tier(m) == t).count();
        format!("{:.0}", 100.0 * at as f64 / runs.len() as f64)
    };
    let mut tiers: Vec<Tier> = runs.iter().map(|o| o.score.tier(m)).collect();
    tiers.sort_unstable();
    let value = median(runs.iter().map(|o| o.score.value(m)));
    let shares: Vec<String> = Tier::ALL.into_iter().map(pct).collect();
    format!(
        "{} {} ({}) {}",
        m.name(),
        m.show(value),
        tiers[(tiers.len() - 1) / 2],
        shares.join("/")
    )
}

/// Per config: the median of each metric over the runs and the share of
/// runs at each tier, the median answer latencies, and the worst run.
fn print_summary(outcomes: &[Outcome]) {
    let mut by_name: BTreeMap<&str, Vec<&Outcome>> = BTreeMap::new();
    let mut order = Vec::new();
    for o in outcomes {
        if !by_name.contains_key(o.name.as_str()) {
            order.push(o.name.as_str());
        }
        by_name.entry(&o.name).or_default().push(o);
    }
    println!(
        "summary per config: metric median (tier of the median) and % of runs at bonus/full/partial/none"
    );
    for name in order {
        let runs = &by_name[name];
        let metrics: Vec<String> = Metric::ALL
            .iter()
            .map(|&m| metric_summary(runs, m))
            .collect();
        let get = median(runs.iter().map(|o| o.score.get_latency));
        let put = median(runs.iter().map(|o| o.score.put_latency));
        let worst = runs
            .iter()
            .max_by_key(|o| (!o.passed(), o.score.points(), o.score.total_msgs))
            .expect("at least one run");
        let passed = runs.iter().filter(|o| o.passed()).count();
        println!(
            "{name:<14} {passed}/{} passed  {}",
            runs.len(),
            metrics.join("  ")
        );
        println!("    {}", failure_rate(runs.len() - passed, runs.len()));
        println!("    answer latency (ok only): get {get:.6} s, put {put:.6} s");
        if runs.iter().any(|o| !o.by_cause.is_empty()) {
            let causes: Vec<String> = Cause::ALL
                .iter()
                .map(|c| {
                    let n = median(runs.iter().map(|o| *o.by_cause.get(c).unwrap_or(&0) as f64));
                    format!("{} {n}", c.name())
                })
                .collect();
            println!(
                "    messages by cause (medians): {}; floor {:.0}",
                causes.join(", "),
                runs[0].message_floor
            );
        }
        println!("    worst: {}", line(worst).replace('\n', "\n    "));
    }
}
