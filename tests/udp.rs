//! `gradesim udp` running the built `3700kvstore` as real processes on the
//! project's scenario configs (shortened), asserting every grader check.

use std::process::Command;

const GRADESIM: &str = env!("CARGO_BIN_EXE_gradesim");
const REPLICA: &str = env!("CARGO_BIN_EXE_3700kvstore");

#[test]
fn replicas_pass_the_grader_over_real_udp() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/");
    let configs = ["simple", "crash", "partition", "advanced"].map(|c| format!("{dir}{c}.json"));
    let out = Command::new(GRADESIM)
        .arg("udp")
        .args(&configs)
        .args(["--replica", REPLICA, "--time-scale", "0.3", "--seed", "1"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.ends_with("4 passed, 0 failed\n"), "{stdout}");
}

#[test]
fn a_replica_that_does_not_exist_is_a_clear_error() {
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/simple.json");
    let out = Command::new(GRADESIM)
        .args(["udp", config, "--replica", "/nonexistent/replica"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no replica found"));
}

/// A fresh directory of this test process for `name`.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("raftplay-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `--record` writes a recording (JSON Lines) with the header, every
/// datagram and its fate, the faults, the verdicts, the replicas' printed
/// lines and the score; `gradesim show` reads it back.
#[test]
fn a_run_is_recorded_and_shown() {
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/crash.json");
    let file = scratch("record").join("run.jsonl");
    let out = Command::new(GRADESIM)
        .args([
            "udp",
            config,
            "--replica",
            REPLICA,
            "--time-scale",
            "0.2",
            "--seed",
            "1",
        ])
        .arg("--record")
        .arg(&file)
        .env("RAFTPLAY_LOG", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect();
    assert_eq!(lines[0]["kind"], "header");
    assert_eq!(lines[0]["format"], "raftplay-recording");
    let kinds = |k: &str| lines.iter().filter(|l| l["kind"] == k).count();
    assert!(kinds("datagram") > 100);
    assert_eq!(kinds("fault"), 2, "kill_non_leader and kill_leader");
    assert!(kinds("verdict") > 10);
    assert!(kinds("print") > 0, "the replicas' stderr lines");
    assert_eq!(lines.last().unwrap()["kind"], "score");
    let dead = lines
        .iter()
        .any(|l| l["kind"] == "datagram" && l["fate"] == "dead");
    assert!(dead, "datagrams to a killed replica are marked dead");
    let show = Command::new(GRADESIM)
        .arg("show")
        .arg(&file)
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&show.stdout);
    assert!(show.status.success(), "{shown}");
    assert!(shown.starts_with("crash (seed 1), 5 replicas"), "{shown}");
    assert!(shown.contains("score: PASS"), "{shown}");
}

/// A run that ends badly (here, interrupted as Ctrl-C would) leaves a
/// recording that is valid up to its last complete line.
#[test]
fn a_killed_run_leaves_a_valid_recording() {
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
    let show = Command::new(GRADESIM)
        .arg("show")
        .arg(&file)
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&show.stdout);
    assert_eq!(show.status.code(), Some(1), "no score: {shown}");
    assert!(
        shown.contains("no score: the run ended before it was scored"),
        "{shown}"
    );
    assert!(shown.contains("datagrams delivered"), "{shown}");
}
