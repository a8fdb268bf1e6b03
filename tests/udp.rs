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
