//! The explorer: its search finds the shortest counterexample, its states
//! merge when two orders lead to the same place, and a path replays.

#![cfg(not(target_arch = "wasm32"))]

use raftplay::explore::{self, Event, Options, Requests, Start, Stop, World};
use raftplay::raft::Bug;

fn options(bug: Option<Bug>, depth: usize) -> Options {
    let mut o = Options {
        depth,
        max_states: 2_000_000,
        start: Start::Leader,
        requests: Requests::Leaders,
        link_capacity: Some(1),
        threads: 2,
        ..Options::default()
    };
    o.raft.bug = bug;
    o.raft.max_append_entries = 1;
    o
}

fn never_stop(_: &explore::Level) -> bool {
    true
}

#[test]
fn a_forgotten_vote_is_found_in_two_events_and_not_in_one() {
    let o = options(Some(Bug::ForgetVotedFor), 4);
    let report = explore::search(&o, never_stop).unwrap();
    let found = report.found.expect("forget_voted_for breaks a check");
    assert_eq!(found.broken.check, "Persistent State");
    assert_eq!(
        found.events,
        vec![Event::Crash { node: 0 }, Event::Restart { node: 0 }]
    );
    let shallower = explore::search(&options(Some(Bug::ForgetVotedFor), 1), never_stop).unwrap();
    assert!(shallower.found.is_none());
    assert_eq!(shallower.stop, Stop::Depth);
}

/// Breadth-first: no run shorter than the one reported breaks a check.
#[test]
fn the_counterexample_is_a_shortest_one() {
    for bug in [
        Bug::AcceptStaleTerm,
        Bug::NoTimerResetOnVote,
        Bug::NoVoteGuard,
        Bug::KeepConflicts,
    ] {
        let report = explore::search(&options(Some(bug), 8), never_stop).unwrap();
        let found = report.found.unwrap_or_else(|| panic!("{bug:?} not caught"));
        let len = found.events.len();
        let shorter = explore::search(&options(Some(bug), len - 1), never_stop).unwrap();
        assert!(
            shorter.found.is_none(),
            "{bug:?}: a run of {len} events is not the shortest"
        );
        assert_eq!(shorter.stop, Stop::Depth);
    }
}

#[test]
fn a_replayed_counterexample_breaks_the_same_check_and_says_why() {
    let o = options(Some(Bug::AcceptStaleTerm), 8);
    let found = explore::search(&o, never_stop).unwrap().found.unwrap();
    let replayed = explore::replay(&o, &found.events).unwrap();
    assert_eq!(replayed.broken.as_ref(), Some(&found.broken));
    assert_eq!(replayed.steps.len(), found.events.len());
    assert!(
        !replayed.prelude.is_empty(),
        "the leader start elects a leader"
    );
    let said: Vec<&String> = replayed.steps.iter().flat_map(|s| &s.lines).collect();
    assert!(
        said.iter().any(|l| l.contains("§")),
        "the trace gives the paper's reasons: {said:?}"
    );
}

#[test]
fn a_path_that_does_not_fit_the_options_is_refused() {
    let o = options(None, 4);
    let e = explore::replay(&o, &[Event::Restart { node: 1 }]).unwrap_err();
    assert!(e.contains("not enabled"), "{e}");
    let bad = Options { nodes: 0, ..o };
    assert!(
        explore::search(&bad, never_stop)
            .unwrap_err()
            .contains("nodes")
    );
}

#[test]
fn the_correct_core_keeps_every_check_over_a_bounded_search() {
    let o = options(None, 5);
    let report = explore::search(&o, never_stop).unwrap();
    assert!(report.found.is_none(), "{:?}", report.found);
    assert_eq!(report.stop, Stop::Depth);
    assert_eq!(report.depth, 5);
    assert!(report.states > 10_000, "{} states", report.states);
}

#[test]
fn threads_change_nothing_but_the_speed() {
    let mut o = options(Some(Bug::LongLease), 6);
    let two = explore::search(&o, never_stop).unwrap();
    o.threads = 1;
    let one = explore::search(&o, never_stop).unwrap();
    assert_eq!(one, two);
}

#[test]
fn two_orders_of_independent_deliveries_reach_one_state() {
    let o = Options {
        start: Start::Fresh,
        ..options(None, 4)
    };
    let mut world = World::start(&o, false).unwrap();
    // The first timer to fire sends a pre-vote to each peer: two messages
    // to different nodes, whose deliveries commute.
    let timer = world
        .enabled(&o)
        .into_iter()
        .find(|e| matches!(e, Event::Timer { .. }))
        .unwrap();
    world.apply(&o, timer).unwrap();
    assert_eq!(world.cluster().held().len(), 2);
    let mut a = world.clone();
    a.apply(&o, Event::Deliver { message: 0 }).unwrap();
    a.apply(&o, Event::Deliver { message: 0 }).unwrap();
    let mut b = world.clone();
    b.apply(&o, Event::Deliver { message: 1 }).unwrap();
    b.apply(&o, Event::Deliver { message: 0 }).unwrap();
    assert_eq!(a.fingerprint(), b.fingerprint());
    assert_ne!(a.fingerprint(), world.fingerprint());
}

#[test]
fn a_state_bound_stops_the_search_and_says_so() {
    let o = Options {
        max_states: 500,
        ..options(None, 10)
    };
    let report = explore::search(&o, never_stop).unwrap();
    assert_eq!(report.stop, Stop::States);
    assert_eq!(report.states, 500);
    let cancelled = explore::search(&options(None, 10), |_| false).unwrap();
    assert_eq!(cancelled.stop, Stop::Cancelled);
    assert_eq!(cancelled.depth, 1);
}

#[test]
fn a_counterexample_file_reads_back_and_other_files_are_not_taken_for_one() {
    let o = options(Some(Bug::LongLease), 6);
    let found = explore::search(&o, never_stop).unwrap().found.unwrap();
    let file = explore::Counterexample {
        explore: o.clone(),
        found: found.clone(),
    };
    let text = serde_json::to_string(&file).unwrap();
    let read = explore::Counterexample::parse(&text).unwrap().unwrap();
    assert_eq!(read, file);
    assert!(explore::Counterexample::parse(r#"{"events": []}"#).is_none());
    assert!(explore::Counterexample::parse("not json").is_none());
    let bad = explore::Counterexample::parse(r#"{"explore": {"nodes": 3}}"#).unwrap();
    assert!(bad.is_err());
}

/// The command line: a variant's counterexample exits 1 and is written to
/// a file that `gradesim replay` replays to the same check; a clean search
/// exits 0.
#[test]
fn gradesim_explore_writes_a_counterexample_that_replay_replays() {
    let exe = env!("CARGO_BIN_EXE_gradesim");
    let dir = std::env::temp_dir().join(format!("raftplay-explore-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("ce.json");
    let bounds = [
        "--start",
        "leader",
        "--requests",
        "leaders",
        "--link-capacity",
        "1",
    ];
    let run = std::process::Command::new(exe)
        .args(["explore", "--bug", "long_lease", "--depth", "6"])
        .args(bounds)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(1), "{said}");
    assert!(said.contains("VIOLATION Lease Exclusion"), "{said}");
    let replay = std::process::Command::new(exe)
        .arg("replay")
        .arg(&out)
        .output()
        .unwrap();
    let replayed = String::from_utf8_lossy(&replay.stdout);
    assert_eq!(replay.status.code(), Some(1), "{replayed}");
    assert!(replayed.contains("VIOLATION Lease Exclusion"), "{replayed}");
    let clean = std::process::Command::new(exe)
        .args(["explore", "--depth", "3"])
        .args(bounds)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(clean.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&clean.stdout).contains("0 violations"));
    let bad = std::process::Command::new(exe)
        .args(["explore", "--timing", "sometimes"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("timings are prompt, any"));
    std::fs::remove_dir_all(&dir).ok();
}

/// The lease leaves a tenth of the minimum election timeout for clocks
/// that run apart: enough for clocks 5% off real time, not for 10%, where
/// a fast follower's timer outruns a slow leader's lease.
#[test]
fn clocks_that_drift_beyond_the_lease_margin_break_lease_exclusion() {
    let mut o = options(None, 4);
    o.drift = 0.10;
    let found = explore::search(&o, never_stop)
        .unwrap()
        .found
        .expect("10% drift outruns the lease");
    assert_eq!(found.broken.check, "Lease Exclusion");
    let Event::Clocks { fast, ppm } = found.events[0] else {
        panic!("a path starts with the clocks: {:?}", found.events);
    };
    assert_eq!(ppm, 100_000);
    let leader = World::start(&o, false).unwrap().cluster().leader().unwrap();
    assert_eq!(fast & (1 << leader), 0, "the leader's clock runs slow");
    let replayed = explore::replay(&o, &found.events).unwrap();
    assert_eq!(replayed.broken.as_ref(), Some(&found.broken));
    assert!(
        replayed.steps[0].what.contains("by 10%"),
        "{:?}",
        replayed.steps[0]
    );

    o.drift = 0.05;
    let within = explore::search(&o, never_stop).unwrap();
    assert!(within.found.is_none(), "{:?}", within.found);
    assert_eq!(within.stop, Stop::Depth);
}

#[test]
fn gradesim_explore_help_prints_the_usage() {
    let exe = env!("CARGO_BIN_EXE_gradesim");
    let run = std::process::Command::new(exe)
        .args(["explore", "--help"])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0));
    let said = String::from_utf8_lossy(&run.stdout);
    assert!(
        said.contains("gradesim explore") && said.contains("--drift D"),
        "{said}"
    );
}
