//! Recordings of real runs: `gradesim udp --record FILE` writes everything
//! the router saw, and `gradesim show FILE` prints a recording's summary.
//!
//! The format (version 1) is JSON Lines: one JSON object per line, each
//! with a `kind`, written as it happens by a thread of its own (flushed at
//! least every 100 ms), so that a run that ends badly (a replica crash, a
//! packet storm, Ctrl-C) still leaves a valid file up to its last complete
//! line. Times `t` are microseconds from the start of the run.
//!
//! - `header`: `format` ("raftplay-recording"), `version`, `source`
//!   (`udp` for real processes, `sim` for the simulator), `config` (the
//!   grader config), `seed`, `replicas` and `clients` (their IDs), `start`
//!   (Unix time, ms; `null` for a simulated run).
//! - `datagram`: `t`, `src`, `dst`, `json` (the datagram as received) or
//!   `raw` (its bytes, escaped, if it was not JSON), `fate`: `delivered`,
//!   `dropped` (the drop rate), `partitioned`, or `dead` (to a killed
//!   replica). A broadcast is one line per copy. From the simulator
//!   (`gradesim sim --record`), `t` is when the datagram left its sender,
//!   its fate is decided then, and `overflow` marks one the grader's full
//!   socket lost (a real router never sees those). A datagram in this
//!   project's replica protocol also has `message`: its `kind` (the
//!   playground's `MessageKind`), `term`, `entries` and `ok` (matched or
//!   granted), so the page draws it as the playground does.
//! - `fault`: `t`, `fault` (`kill_leader`, …), and what it did: `killed`
//!   (a replica) or `majority` (the group kept together).
//! - `verdict`: `t`, `mid`, `verdict` (`ok`, `wrong_value` with `got` and
//!   `expected`, `duplicate`, `redirect`, `fail`, `incorrect` with `why`,
//!   `unanswered` at the end).
//! - `print`: `t`, `replica`, `stream` (`stdout` or `stderr`), `line`
//!   (none from the simulator).
//! - `score`: the grader's score, last.

// The wall clock and raw datagrams serve `udp` mode, Unix only.
#![cfg_attr(not(unix), allow(dead_code))]

use raftplay::grader::config::FaultKind;
use raftplay::grader::failure_rate;
use raftplay::grader::run::{Recorded, SimRun};
use raftplay::grader::workload::Judged;
use raftplay::grader::{GraderConfig, Outcome, SimOptions};
use raftplay::kv::ClientId;
use raftplay::raft::NodeId;
use raftplay::raft::time::{MILLISECOND, Time};
use raftplay::wire;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Mutex;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub const FORMAT: &str = "raftplay-recording";
pub const VERSION: u32 = 1;

/// What the router hands the writer: as little work as possible on the
/// routing path (a copy of the bytes), the JSON is made on the writer's
/// thread.
enum Item {
    Line(serde_json::Value),
    Datagram {
        t: u64,
        src: String,
        dst: String,
        bytes: Vec<u8>,
        fate: &'static str,
    },
}

/// Writes a recording on its own thread, flushing at least every
/// [`FLUSH_EVERY`], so that recording does not slow the routing down.
pub struct Recorder {
    tx: Mutex<Option<Sender<Item>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    start: Mutex<Instant>,
}

/// The longest a recorded line waits in memory.
const FLUSH_EVERY: Duration = Duration::from_millis(100);

impl Recorder {
    pub fn create(path: &Path, start: Instant) -> Result<Recorder, String> {
        let file = File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let (tx, rx) = mpsc::channel::<Item>();
        let writer = std::thread::spawn(move || {
            let mut out = BufWriter::new(file);
            loop {
                match rx.recv_timeout(FLUSH_EVERY) {
                    Ok(item) => {
                        let _ = writeln!(out, "{}", render(item));
                    }
                    Err(RecvTimeoutError::Timeout) => {
                        let _ = out.flush();
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            }
            let _ = out.flush();
        });
        Ok(Recorder {
            tx: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
            start: Mutex::new(start),
        })
    }

    /// The run starts now (the replicas were launched before).
    pub fn start_clock(&self, start: Instant) {
        if let Ok(mut s) = self.start.lock() {
            *s = start;
        }
    }

    /// Microseconds since the start of the run (0 before it).
    pub fn now(&self) -> u64 {
        let start = self
            .start
            .lock()
            .map(|s| *s)
            .unwrap_or_else(|_| Instant::now());
        Instant::now().saturating_duration_since(start).as_micros() as u64
    }

    fn send(&self, item: Item) {
        if let Ok(tx) = self.tx.lock()
            && let Some(tx) = tx.as_ref()
        {
            let _ = tx.send(item);
        }
    }

    /// One line (a JSON object with its `kind`).
    pub fn line(&self, value: serde_json::Value) {
        self.send(Item::Line(value));
    }

    /// The grader's verdict on an answer.
    pub fn verdict(&self, judged: &Judged) {
        let mut line = serde_json::to_value(judged).unwrap_or_default();
        line["kind"] = "verdict".into();
        self.line(line);
    }

    /// A datagram as received: its JSON, or its bytes escaped.
    pub fn datagram(&self, t: u64, src: &str, dst: &str, bytes: &[u8], fate: &'static str) {
        self.send(Item::Datagram {
            t,
            src: src.to_string(),
            dst: dst.to_string(),
            bytes: bytes.to_vec(),
            fate,
        });
    }

    /// Writes out everything and closes the file.
    pub fn finish(&self) {
        if let Ok(mut tx) = self.tx.lock() {
            tx.take();
        }
        if let Some(writer) = self.writer.lock().ok().and_then(|mut w| w.take()) {
            let _ = writer.join();
        }
    }
}

/// The header line: what was run. `start` is the Unix time (ms) of a real
/// run, `None` for a simulated one.
pub fn header(
    config: &GraderConfig,
    seed: u64,
    clients: &[ClientId],
    start: Option<u64>,
) -> serde_json::Value {
    let mut config_json = serde_json::to_value(config).unwrap_or_default();
    config_json["name"] = config.name.clone().into();
    let replicas: Vec<String> = (0..config.replicas as NodeId).map(wire::id).collect();
    let clients: Vec<String> = clients.iter().map(|&c| wire::id(c)).collect();
    serde_json::json!({
        "kind": "header", "format": FORMAT, "version": VERSION,
        "source": if start.is_some() { "udp" } else { "sim" },
        "config": config_json, "seed": seed,
        "replicas": replicas, "clients": clients, "start": start,
    })
}

/// A fault line: what the grader did at `t`, whom it killed, and the group
/// kept together while partitioned.
pub fn fault(
    t: Time,
    kind: FaultKind,
    killed: &[NodeId],
    majority: Option<&[NodeId]>,
) -> serde_json::Value {
    let ids = |ids: &[NodeId]| ids.iter().map(|&id| wire::id(id)).collect::<Vec<_>>();
    serde_json::json!({
        "kind": "fault", "t": t, "fault": kind.name(),
        "killed": ids(killed), "majority": majority.map(ids),
    })
}

/// How much virtual time a recorded simulation runs between two writes.
const SIM_SLICE: Time = 10 * MILLISECOND;

/// `gradesim sim --record FILE`: one simulated run, written in the same
/// format as `udp --record`, so that the viewer has one loader.
pub fn run_sim(
    config: &GraderConfig,
    options: &SimOptions,
    path: &Path,
) -> Result<Outcome, String> {
    let rec = Recorder::create(path, Instant::now())?;
    let options = SimOptions {
        record: true,
        ..options.clone()
    };
    let mut run = SimRun::new(config, &options)?;
    rec.line(header(config, options.seed, &run.client_ids(), None));
    let mut until = 0;
    loop {
        until += SIM_SLICE;
        let done = run.run_until(until)?;
        write_recorded(&rec, run.take_recorded());
        if done {
            break;
        }
    }
    for v in run.unanswered() {
        rec.verdict(&v);
    }
    let outcome = run.finish();
    rec.line(serde_json::json!({ "kind": "score", "score": outcome.score }));
    rec.finish();
    Ok(outcome)
}

fn write_recorded(rec: &Recorder, recorded: Recorded) {
    for d in recorded.datagrams {
        rec.send(Item::Datagram {
            t: d.t,
            src: d.src,
            dst: d.dst,
            bytes: d.bytes,
            fate: d.fate,
        });
    }
    for f in &recorded.faults {
        rec.line(fault(f.at, f.kind, &f.killed, f.majority.as_deref()));
    }
    for v in &recorded.verdicts {
        rec.verdict(v);
    }
}

fn render(item: Item) -> serde_json::Value {
    match item {
        Item::Line(value) => value,
        Item::Datagram {
            t,
            src,
            dst,
            bytes,
            fate,
        } => {
            let body = match serde_json::from_slice::<serde_json::Value>(&bytes) {
                Ok(json) => ("json", json),
                Err(_) => ("raw", serde_json::Value::String(escape(&bytes))),
            };
            let mut line = serde_json::json!({
                "kind": "datagram", "t": t, "src": src, "dst": dst, "fate": fate,
            });
            line[body.0] = body.1;
            if let Some(message) = replica_message(&bytes, &dst) {
                line["message"] = message;
            }
            line
        }
    }
}

/// A datagram in this project's replica protocol, as the playground draws
/// it: its `MessageKind`, term, entries and whether it matched or granted.
/// `None` for client traffic and for any other design's messages.
fn replica_message(bytes: &[u8], dst: &str) -> Option<serde_json::Value> {
    let me = wire::parse_id(dst).ok()?;
    let wire::Incoming::Peer { envelope } = wire::decode_for_replica(bytes, me, |_| true).ok()?
    else {
        return None;
    };
    let (entries, ok) = envelope.message.glyph();
    Some(serde_json::json!({
        "kind": envelope.message.kind(), "term": envelope.term, "entries": entries, "ok": ok,
    }))
}

/// Bytes as text: printable ASCII as is, the rest as `\xNN`.
fn escape(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| match b {
            b' '..=b'~' if b != b'\\' => (b as char).to_string(),
            _ => format!("\\x{b:02x}"),
        })
        .collect()
}

/// `gradesim show FILE`: what a recording holds, in a few lines.
pub fn show(args: &[String]) -> Result<bool, String> {
    let [path] = args else {
        return Err("show needs one file or folder: gradesim show RUN.jsonl|DIR".into());
    };
    if std::path::Path::new(path).is_dir() {
        return show_folder(path);
    }
    let run = Summary::read(path)?;
    if run.cut {
        println!("(the last line was cut off when the run ended; ignored)");
    }
    println!(
        "{} (seed {}), {} replicas, recorded {:.3} s",
        run.config, run.seed, run.replicas, run.seconds
    );
    for (what, n) in &run.counts {
        println!("  {what}: {n}");
    }
    match &run.score {
        Some(s) => {
            println!(
                "  score: {} total_msgs {} failures {} duplicates {} median_latency {:.6}",
                if run.passed() { "PASS" } else { "FAIL" },
                s["total_msgs"],
                s["failures"],
                s["duplicates"],
                s["median_latency"].as_f64().unwrap_or(0.0)
            );
        }
        None => println!("  no score: the run ended before it was scored"),
    }
    if run.diagnoses.is_empty() {
        println!("  the wire shows none of the usual causes (see gradesim show's docs)");
    }
    for d in &run.diagnoses {
        println!(
            "  at {:.3} s: {}",
            raftplay::raft::time::as_secs(d.t),
            d.what
        );
    }
    Ok(run.passed())
}

/// Every recording in a folder, a line each: verdict, what failed, a
/// packet storm, the leaders its datagrams named. True if all passed.
fn show_folder(dir: &str) -> Result<bool, String> {
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{dir}: {e}"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("{dir}: no recordings (*.jsonl) in it"));
    }
    let mut all = true;
    // Per config: runs, and runs that failed.
    let mut by_config: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    for file in &files {
        let name = file
            .file_name()
            .map_or(String::new(), |n| n.to_string_lossy().into_owned());
        let run = match Summary::read(&file.to_string_lossy()) {
            Ok(run) => run,
            Err(e) => {
                all = false;
                println!("{name}: unreadable: {e}");
                continue;
            }
        };
        all &= run.passed();
        let seen = by_config.entry(run.config.clone()).or_default();
        *seen = (seen.0 + 1, seen.1 + usize::from(!run.passed()));
        println!("{name}: {}", run.line());
    }
    for (config, (runs, failed)) in &by_config {
        println!("{config}: {}", failure_rate(*failed, *runs));
    }
    println!(
        "{} recordings in {dir} (a folder kept with --record-failures holds only failing runs: rates need --record)",
        files.len()
    );
    Ok(all)
}

/// What one recording holds, read once.
struct Summary {
    config: String,
    seed: serde_json::Value,
    replicas: usize,
    max_packets: Option<u64>,
    seconds: f64,
    counts: std::collections::BTreeMap<String, u64>,
    /// The leaders the datagrams named (other than the course's "FFFF").
    leaders: std::collections::BTreeSet<String>,
    score: Option<serde_json::Value>,
    /// The last line was cut off when the run ended.
    cut: bool,
    /// What the wire shows, with its moment.
    diagnoses: Vec<raftplay::grader::diagnose::Diagnosis>,
}

impl Summary {
    fn read(path: &str) -> Result<Summary, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
        // A run killed mid-write may leave half a last line: the rest stands.
        let complete = text.rfind('\n').map_or("", |i| &text[..=i]);
        let mut run = Summary {
            config: "?".into(),
            seed: serde_json::Value::Null,
            replicas: 0,
            max_packets: None,
            seconds: 0.0,
            counts: Default::default(),
            leaders: Default::default(),
            score: None,
            cut: complete.len() < text.len(),
            diagnoses: Vec::new(),
        };
        let mut diagnoser = raftplay::grader::diagnose::Diagnoser::default();
        let mut header = false;
        let mut last_t = 0;
        for (n, line) in complete.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let v: serde_json::Value = serde_json::from_str(line)
                .map_err(|e| format!("{path}: line {}: not JSON ({e})", n + 1))?;
            last_t = last_t.max(v["t"].as_u64().unwrap_or(0));
            match v["kind"].as_str().unwrap_or("?") {
                "header" => {
                    if v["format"] != FORMAT {
                        return Err(format!("{path}: not a raftplay recording"));
                    }
                    header = true;
                    diagnoser = run.header(&v);
                }
                "datagram" => {
                    diagnoser.datagram(&v);
                    run.datagram(&v);
                }
                "score" => run.score = Some(v["score"].clone()),
                kind @ ("verdict" | "print" | "fault") => run.count(kind, &v),
                other => return Err(format!("{path}: line {}: unknown kind {other:?}", n + 1)),
            }
        }
        if !header {
            return Err(format!("{path}: no header line"));
        }
        run.seconds = raftplay::raft::time::as_secs(last_t);
        let total = run.score.as_ref().and_then(|s| s["total_msgs"].as_u64());
        run.diagnoses = diagnoser.finish(run.max_packets, total);
        Ok(run)
    }

    /// The header line: what the run was; a diagnoser for its replicas.
    fn header(&mut self, v: &serde_json::Value) -> raftplay::grader::diagnose::Diagnoser {
        self.config = v["config"]["name"].as_str().unwrap_or("?").to_string();
        self.seed = v["seed"].clone();
        self.replicas = v["replicas"].as_array().map_or(0, Vec::len);
        self.max_packets = v["config"]["max_packets"].as_u64();
        let ids = v["replicas"].as_array().into_iter().flatten();
        raftplay::grader::diagnose::Diagnoser::new(ids.filter_map(serde_json::Value::as_str))
    }

    /// A datagram line: counted by fate and type; the leader it names.
    fn datagram(&mut self, v: &serde_json::Value) {
        let fate = v["fate"].as_str().unwrap_or("?");
        let ty = v["json"]["type"].as_str().unwrap_or("not JSON");
        *self.counts.entry(format!("datagrams {fate}")).or_default() += 1;
        *self.counts.entry(format!("type {ty}")).or_default() += 1;
        if let Some(l) = v["json"]["leader"].as_str().filter(|&l| l != "FFFF") {
            self.leaders.insert(l.to_string());
        }
    }

    /// A verdict, print or fault line, counted by what it says.
    fn count(&mut self, kind: &str, v: &serde_json::Value) {
        let text = |field: &str| v[field].as_str().unwrap_or("?").to_string();
        let what = match kind {
            "verdict" => format!("verdict {}", text("verdict")),
            "print" => format!("printed by {}", text("replica")),
            _ => format!("fault {}", text("fault")),
        };
        *self.counts.entry(what).or_default() += 1;
    }

    fn passed(&self) -> bool {
        self.score
            .as_ref()
            .is_some_and(|s| s["passed"].as_bool().unwrap_or(false))
    }

    /// One line: verdict, failed checks, storm, leaders named.
    fn line(&self) -> String {
        let Some(s) = &self.score else {
            return format!(
                "{} seed {}: no score (the run ended before it was scored)",
                self.config, self.seed
            );
        };
        let failed: Vec<&str> = s["checks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["ok"] == false)
            .filter_map(|c| c["name"].as_str())
            .collect();
        let total = s["total_msgs"].as_u64().unwrap_or(0);
        let storm = self.max_packets.is_some_and(|m| total >= m);
        let leaders: Vec<&str> = self.leaders.iter().map(String::as_str).collect();
        let first = self.diagnoses.first().map_or(String::new(), |d| {
            let at = raftplay::raft::time::as_secs(d.t);
            format!("; first sign at {at:.3} s: {}", d.what)
        });
        format!(
            "{} seed {}: {}{}, total_msgs {total}{}, leaders named: {}{first}",
            self.config,
            self.seed,
            if self.passed() { "PASS" } else { "FAIL" },
            if failed.is_empty() {
                String::new()
            } else {
                format!(" ({})", failed.join(", "))
            },
            if storm {
                " (packet storm: max_packets reached)"
            } else {
                ""
            },
            if leaders.is_empty() {
                "none".to_string()
            } else {
                leaders.join(", ")
            }
        )
    }
}
