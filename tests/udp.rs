//! `gradesim udp` running the built `3700kvstore` as real processes on the
//! project's scenario configs (shortened), asserting every grader check;
//! recordings of real and simulated runs.

use std::process::Command;
use std::sync::{Mutex, MutexGuard};

const GRADESIM: &str = env!("CARGO_BIN_EXE_gradesim");
const REPLICA: &str = env!("CARGO_BIN_EXE_3700kvstore");

/// The tests of this file run one at a time: two real-time clusters (a
/// router and five replicas each), or one beside a simulation, on a
/// two-core machine starve the router, whose sockets then overflow and
/// lose answers to committed puts (a wrong get, in a run of the correct
/// replica). The tests assert the replica, not the machine's load.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static CLUSTER: Mutex<()> = Mutex::new(());
    CLUSTER
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[test]
fn replicas_pass_the_grader_over_real_udp() {
    let _one = one_at_a_time();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/");
    let configs = ["simple", "crash", "partition", "advanced"].map(|c| format!("{dir}{c}.json"));
    let out = Command::new(GRADESIM)
        .arg("udp")
        .args(&configs)
        .args(["--replica", REPLICA, "--time-scale", "0.3", "--seed", "1"])
        .arg("--summary")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.ends_with("4 passed, 0 failed\n"), "{stdout}");
    // Where the messages went, decoded from the wire: every config has new
    // entries and their replies, and none is of another protocol.
    let causes: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("messages by cause (medians): "))
        .collect();
    assert_eq!(causes.len(), 4, "{stdout}");
    for line in causes {
        let count = |name: &str| -> f64 {
            let at = line
                .find(name)
                .unwrap_or_else(|| panic!("{name} in {line}"));
            let rest = &line[at + name.len() + 1..];
            rest.split([',', ';']).next().unwrap().parse().unwrap()
        };
        assert!(count("new entries") > 0.0, "{line}");
        assert!(count("append replies") > 0.0, "{line}");
        assert_eq!(count("other"), 0.0, "{line}");
    }
}

#[test]
fn a_replica_that_does_not_exist_is_a_clear_error() {
    let _one = one_at_a_time();
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/simple.json");
    let out = Command::new(GRADESIM)
        .args(["udp", config, "--replica", "/nonexistent/replica"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no replica found"));
}

#[test]
fn bad_counts_are_clear_errors_not_a_silent_run() {
    let _one = one_at_a_time();
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/simple.json");
    for (args, says) in [
        (
            vec!["sim", config, "--seeds", "0"],
            "--seeds must be at least 1",
        ),
        (
            vec!["udp", config, "--runs", "0"],
            "--runs must be at least 1",
        ),
        (vec!["chaos", "--seeds", "0"], "--seeds must be at least 1"),
        (vec!["exam", "--seeds", "0"], "--seeds must be at least 1"),
        (
            vec!["sim", config, "--seeds", "x"],
            "--seeds needs a whole number",
        ),
    ] {
        let out = Command::new(GRADESIM).args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(
            out.stdout.is_empty(),
            "{args:?} ran: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

/// `gradesim sim --no-spare` on the project's lossy config (25% drops):
/// without the spare follower the leader sends fewer messages, and more
/// puts wait for a retry, so the median answer is slower.
#[test]
fn no_spare_trades_latency_for_messages_on_a_lossy_network() {
    let _one = one_at_a_time();
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/unreliable.json");
    let summary = |extra: &[&str]| -> (f64, f64) {
        let out = Command::new(GRADESIM)
            .args(["sim", config, "--seed", "1", "--seeds", "3", "--summary"])
            .args(extra)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(out.status.success(), "{stdout}");
        let line = stdout
            .lines()
            .find(|l| l.contains("passed  total_msgs"))
            .unwrap();
        let after = |name: &str| -> f64 {
            let rest = &line[line.find(name).unwrap() + name.len() + 1..];
            rest.split_whitespace().next().unwrap().parse().unwrap()
        };
        (after("total_msgs"), after("median_latency"))
    };
    let (msgs, latency) = summary(&[]);
    let (lean_msgs, lean_latency) = summary(&["--no-spare"]);
    assert!(
        lean_msgs < msgs,
        "{lean_msgs} messages without the spare, {msgs} with"
    );
    assert!(
        lean_latency > latency,
        "{lean_latency} s without the spare, {latency} s with"
    );
}

/// A fresh directory of this test process for `name`.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("raftplay-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `gradesim udp CONFIG --replica REPLICA --record` (shortened, seed 1)
/// and returns the recording's lines, each parsed as JSON.
fn record(config: &str, replica: &std::path::Path, name: &str) -> Vec<serde_json::Value> {
    let config = format!("{}/configs/{config}.json", env!("CARGO_MANIFEST_DIR"));
    let file = scratch(name).join("run.jsonl");
    let out = Command::new(GRADESIM)
        .args(["udp", &config, "--time-scale", "0.3", "--seed", "1"])
        .arg("--replica")
        .arg(replica)
        .arg("--record")
        .arg(&file)
        .env("RAFTPLAY_LOG", "1")
        .output()
        .unwrap();
    // A failing replica makes gradesim exit 1; anything else is an error.
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&file).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect()
}

/// `gradesim show FILE`: its exit code and what it printed.
fn show(file: &std::path::Path) -> (Option<i32>, String) {
    let out = Command::new(GRADESIM)
        .arg("show")
        .arg(file)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// How many lines of a recording match `kind` and, if given, `field` = `value`.
fn count(lines: &[serde_json::Value], kind: &str, field: Option<(&str, &str)>) -> usize {
    let matches = |l: &&serde_json::Value| {
        l["kind"] == kind && field.is_none_or(|(f, v)| l[f] == v || l["json"][f] == v)
    };
    lines.iter().filter(matches).count()
}

/// `--record` writes a recording (JSON Lines) with the header, every
/// datagram and its fate, the faults, the verdicts, the replicas' printed
/// lines and the score; `gradesim show` reads it back.
#[test]
fn a_run_is_recorded_and_shown() {
    let _one = one_at_a_time();
    let lines = record("crash", REPLICA.as_ref(), "record");
    assert_eq!(lines[0]["kind"], "header");
    assert_eq!(lines[0]["format"], "raftplay-recording");
    assert!(count(&lines, "datagram", None) > 100);
    assert_eq!(
        count(&lines, "fault", None),
        2,
        "kill_non_leader and kill_leader"
    );
    assert!(count(&lines, "verdict", None) > 10);
    assert!(
        count(&lines, "print", None) > 0,
        "the replicas' stderr lines"
    );
    assert_eq!(lines.last().unwrap()["kind"], "score");
    assert!(
        count(&lines, "datagram", Some(("fate", "dead"))) > 0,
        "datagrams to a killed replica are marked dead"
    );
    // Our replicas' datagrams carry the kind the playground draws; the
    // clients' do not.
    let kinds: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["kind"] == "datagram" && l["json"]["type"] == "append")
        .map(|l| &l["message"]["kind"])
        .collect();
    assert!(kinds.iter().any(|k| *k == "AppendEntries"), "{kinds:?}");
    assert!(
        kinds
            .iter()
            .all(|k| *k == "AppendEntries" || *k == "Heartbeat")
    );
    assert!(
        lines
            .iter()
            .filter(|l| l["kind"] == "datagram" && l["json"]["type"] == "put")
            .all(|l| l.get("message").is_none())
    );
    let (status, shown) = show(&scratch("record").join("run.jsonl"));
    assert_eq!(status, Some(0), "{shown}");
    assert!(shown.starts_with("crash (seed 1), 5 replicas"), "{shown}");
    assert!(shown.contains("score: PASS"), "{shown}");
}

/// `examples/instant_replica` answers without replicating: after the
/// partition the clients reach replicas that never saw the puts, and the
/// recording holds the grader's wrong-value verdicts and a failing score.
#[test]
fn a_replica_that_does_not_replicate_is_recorded_with_its_wrong_gets() {
    let _one = one_at_a_time();
    let examples = std::path::Path::new(GRADESIM)
        .parent()
        .unwrap()
        .join("examples");
    let lines = record("partition", &examples.join("instant_replica"), "instant");
    assert!(count(&lines, "verdict", Some(("verdict", "wrong_value"))) > 0);
    assert_eq!(lines.last().unwrap()["kind"], "score");
    assert_eq!(lines.last().unwrap()["score"]["passed"], false);
}

/// A student's replica in Python (tests/fixtures/buggy_replica.py): its own
/// message type and its debug prints are in the recording, beside the
/// grader's verdicts.
#[test]
fn a_python_replica_is_recorded_with_its_own_messages_and_prints() {
    let _one = one_at_a_time();
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/buggy_replica.py"
    );
    let lines = record("partition", fixture.as_ref(), "python");
    assert!(count(&lines, "datagram", Some(("type", "gossip"))) > 10);
    let prints = lines.iter().filter(|l| l["kind"] == "print");
    let texts: Vec<&str> = prints.filter_map(|l| l["line"].as_str()).collect();
    assert!(texts.iter().any(|t| t.contains("gossiping")), "{texts:?}");
    assert!(count(&lines, "verdict", Some(("verdict", "ok"))) > 10);
    assert_eq!(lines.last().unwrap()["kind"], "score");
}

/// A run that ends badly (here, interrupted as Ctrl-C would) leaves a
/// recording that is valid up to its last complete line.
#[test]
fn a_killed_run_leaves_a_valid_recording() {
    let _one = one_at_a_time();
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/crash.json");
    let file = scratch("killed").join("run.jsonl");
    let mut child = Command::new(GRADESIM)
        .args(["udp", config, "--replica", REPLICA, "--seed", "1"])
        .arg("--record")
        .arg(&file)
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(6));
    // SIGINT, so that gradesim kills its replicas as on Ctrl-C.
    let pid = child.id().to_string();
    Command::new("kill").args(["-INT", &pid]).status().unwrap();
    child.wait().unwrap();
    let (status, shown) = show(&file);
    assert_eq!(status, Some(1), "no score: {shown}");
    assert!(
        shown.contains("no score: the run ended before it was scored"),
        "{shown}"
    );
    assert!(shown.contains("datagrams delivered"), "{shown}");
}

/// `gradesim sim --record` writes the same format from the simulator, and
/// recording does not change the run: the same score line as without it.
#[test]
fn a_simulated_run_is_recorded_in_the_same_format() {
    let _one = one_at_a_time();
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/crash.json");
    let file = scratch("sim-record").join("run.jsonl");
    let sim = |record: bool| {
        let mut c = Command::new(GRADESIM);
        c.args(["sim", config, "--seed", "4"]);
        if record {
            c.arg("--record").arg(&file);
        }
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(sim(true), sim(false));
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect();
    assert_eq!(lines[0]["format"], "raftplay-recording");
    assert_eq!(lines[0]["source"], "sim");
    let faults: Vec<_> = lines.iter().filter(|l| l["kind"] == "fault").collect();
    assert_eq!(faults.len(), 2, "kill_non_leader and kill_leader");
    assert!(
        faults
            .iter()
            .all(|f| f["killed"].as_array().unwrap().len() == 1)
    );
    assert!(count(&lines, "datagram", Some(("type", "append"))) > 100);
    assert!(count(&lines, "datagram", Some(("type", "put"))) > 10);
    assert!(count(&lines, "datagram", Some(("fate", "dead"))) > 0);
    assert!(count(&lines, "verdict", Some(("verdict", "ok"))) > 10);
    let score = &lines.last().unwrap()["score"];
    assert_eq!(score["passed"], true);
    let datagrams = lines.iter().filter(|l| l["kind"] == "datagram");
    let replica_msgs = datagrams
        .filter(|l| {
            let is_replica = |f: &str| l[f].as_str().is_some_and(|id| id < "0005");
            is_replica("src") && is_replica("dst")
        })
        .count();
    assert_eq!(Some(replica_msgs as u64), score["total_msgs"].as_u64());
}

/// `--record-failures DIR` keeps a recording of each failing run and no
/// other, names each at the end, and `gradesim show DIR` lists them.
#[test]
fn only_the_failing_runs_are_kept_and_the_folder_is_shown() {
    let _one = one_at_a_time();
    let dir = scratch("failures");
    let simple = format!("{}/configs/simple.json", env!("CARGO_MANIFEST_DIR"));
    // The same workload on a network that loses 95% of datagrams: no put
    // is acknowledged, so the grader's "state" check fails every run.
    let text = std::fs::read_to_string(&simple).unwrap();
    let strict = dir.join("strict.json");
    let strict_text = text.replace("\"mix\": 0.5,", "\"mix\": 0.5, \"drops\": 0.95,");
    assert_ne!(strict_text, text, "the mix is where the test expects it");
    std::fs::write(&strict, strict_text).unwrap();
    let kept = dir.join("kept");
    let out = Command::new(GRADESIM)
        .args(["sim", &simple])
        .arg(&strict)
        .args(["--seed", "1", "--seeds", "2", "--record-failures"])
        .arg(&kept)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{said}");
    let mut files: Vec<String> = std::fs::read_dir(&kept)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ["strict-1.jsonl", "strict-2.jsonl"], "{said}");
    assert!(
        said.contains("failing run kept: ") && said.contains("strict-2.jsonl (state"),
        "{said}"
    );
    let (status, shown) = show(&kept);
    assert_eq!(status, Some(1), "{shown}");
    assert!(
        shown.contains("strict-1.jsonl: strict seed 1: FAIL (state"),
        "{shown}"
    );
    assert!(shown.contains("2 recordings in"), "{shown}");
    assert!(
        shown.contains("strict: 2 of 2 failed: 100%, 95% interval 34-100%"),
        "{shown}"
    );
    // --record into a file refuses several runs' worth of it.
    let out = Command::new(GRADESIM)
        .args(["sim", &simple, "--seeds", "2", "--record"])
        .arg(&strict)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is a file"));
}

/// `gradesim show` names what the wire shows, each with its moment: here
/// a replica that never clears its vote, so that after the leader dies no
/// election ends and nobody names a leader again, and a put the dead
/// leader received and nobody answered.
#[test]
fn show_names_a_leaderless_stretch_and_an_unanswered_request() {
    let _one = one_at_a_time();
    let dir = scratch("diagnose");
    let file = dir.join("advanced-1.jsonl");
    let mut lines = vec![
        serde_json::json!({"kind": "header", "format": "raftplay-recording",
        "version": 1, "source": "udp", "config": {"name": "advanced-1", "max_packets": 20000},
        "seed": 1, "replicas": ["0000", "0001", "0002"], "clients": ["0015"], "start": 0}),
    ];
    let datagram = |t: u64, src: &str, dst: &str, json: serde_json::Value| {
        serde_json::json!({"kind": "datagram", "t": t, "src": src, "dst": dst,
            "fate": "delivered", "json": json})
    };
    for i in 0..10u64 {
        let beat = serde_json::json!({"type": "append", "leader": "0000"});
        lines.push(datagram(100_000 * i, "0000", "0001", beat.clone()));
        lines.push(datagram(100_000 * i + 1, "0001", "0000", beat));
    }
    let put = serde_json::json!({"type": "put", "MID": "M7", "key": "k", "value": "v"});
    lines.push(datagram(990_000, "0015", "0000", put));
    lines.push(
        serde_json::json!({"kind": "fault", "t": 1_000_000, "fault": "kill_leader",
        "killed": ["0000"], "majority": null}),
    );
    for i in 0..60u64 {
        let vote = serde_json::json!({"type": "request_vote", "leader": "FFFF"});
        let (src, dst) = if i % 2 == 0 {
            ("0001", "0002")
        } else {
            ("0002", "0001")
        };
        lines.push(datagram(1_300_000 + 100_000 * i, src, dst, vote));
    }
    lines.push(
        serde_json::json!({"kind": "score", "t": 7_300_000, "score": {"passed": false,
        "total_msgs": 81, "failures": 0, "duplicates": 0, "median_latency": 0.0,
        "checks": [{"name": "unanswered", "ok": false, "detail": "1"}]}}),
    );
    let text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    std::fs::write(&file, text.join("\n") + "\n").unwrap();
    let (status, shown) = show(&file);
    assert_eq!(status, Some(1), "{shown}");
    assert!(
        shown.contains(
            "at 1.300 s: no datagram named a leader for 5.9 s (from 1.300 s to 7.200 s, the end)"
        ),
        "{shown}"
    );
    assert!(
        shown.contains(
            "at 0.990 s: 1 request delivered to a replica never answered, the first M7 (to 0000"
        ),
        "{shown}"
    );
    let (_, folder) = show(&dir);
    assert!(
        folder.contains("first sign at 0.990 s: 1 request delivered"),
        "{folder}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
