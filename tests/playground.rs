//! The playground's model, natively: what the browser API wraps.

use raftplay::playground::{Action, EventCategory, Playground, PlaygroundOptions, RECORD_VERSION};
use raftplay::raft::RoleKind;

const SECOND: u64 = 1_000_000;

fn fresh(seed: u64) -> Playground {
    Playground::new(PlaygroundOptions {
        seed,
        ..PlaygroundOptions::default()
    })
    .unwrap()
}

fn leader(p: &Playground) -> Option<u16> {
    p.nodes()
        .iter()
        .find(|n| n.role == Some(RoleKind::Leader))
        .map(|n| n.id)
}

/// The client puts x=1 through the current leader.
fn put_x(p: &mut Playground) {
    let put = Action::Put {
        key: "x".into(),
        value: "1".into(),
        node: None,
    };
    p.act(put).unwrap();
}

fn run(p: &mut Playground, seconds: f64) {
    let until = p.now() + (seconds * 1e6) as u64;
    p.advance_to(until).unwrap();
}

#[test]
fn a_leader_is_elected_and_a_put_commits_on_a_majority() {
    let mut p = fresh(1);
    run(&mut p, 3.0);
    let l = leader(&p).expect("a leader within 3 s");
    put_x(&mut p);
    run(&mut p, 1.0);
    let holders = (0..5)
        .filter(|&n| p.kv(n).contains(&("x".into(), "1".into())))
        .count();
    assert!(holders >= 3, "applied on {holders} nodes");
    let changes = p.log_changes();
    assert_eq!(changes.len(), 5, "the first read sends every log");
    let leader_log = changes.iter().find(|c| c.node == l).unwrap();
    assert!(leader_log.keys.contains(&"x=1".to_string()));
    assert!(p.log_changes().is_empty(), "nothing new since");
    let events = p.events();
    assert!(events.iter().any(|e| e.text.contains("becomes leader")));
    assert!(
        events
            .iter()
            .any(|e| e.category == EventCategory::Client && e.text.contains("ok"))
    );
}

#[test]
fn crashing_the_leader_elects_another_that_keeps_the_data() {
    let mut p = fresh(2);
    run(&mut p, 3.0);
    let old = leader(&p).unwrap();
    put_x(&mut p);
    run(&mut p, 1.0);
    p.act(Action::Crash { node: old }).unwrap();
    run(&mut p, 3.0);
    let new = leader(&p).expect("a new leader");
    assert_ne!(new, old);
    assert!(!p.nodes()[old as usize].alive);
    assert!(p.kv(new).contains(&("x".into(), "1".into())));
}

#[test]
fn a_minority_cannot_commit_until_the_partition_heals() {
    let mut p = fresh(3);
    run(&mut p, 3.0);
    let l = leader(&p).unwrap();
    let minority = vec![l, (l + 1) % 5];
    p.act(Action::Partition {
        groups: vec![minority.clone()],
    })
    .unwrap();
    p.act(Action::Put {
        key: "m".into(),
        value: "1".into(),
        node: Some(l),
    })
    .unwrap();
    run(&mut p, 3.0);
    let committed_on_minority = p.nodes()[l as usize].commit;
    assert!(
        p.kv(l).iter().all(|(k, _)| k != "m"),
        "not committed in the minority"
    );
    p.act(Action::Heal).unwrap();
    run(&mut p, 3.0);
    let now_leader = leader(&p).unwrap();
    assert!(
        !minority.contains(&now_leader) || p.nodes()[l as usize].commit > committed_on_minority
    );
    assert!(
        p.kv(now_leader).contains(&("m".into(), "1".into())),
        "handed over and committed"
    );
    assert_eq!(p.cluster().violation(), None);
}

#[test]
fn same_seed_and_actions_replay_identically_also_after_seeking_back() {
    let script = |p: &mut Playground| {
        run(p, 2.0);
        p.act(Action::Auto { on: true }).unwrap();
        run(p, 1.5);
        p.act(Action::Crash { node: 0 }).unwrap();
        for _ in 0..50 {
            p.step().unwrap();
        }
        p.act(Action::Restart { node: 0 }).unwrap();
        run(p, 2.0);
    };
    let mut a = fresh(9);
    script(&mut a);
    let mut b = fresh(9);
    script(&mut b);
    let events_a: Vec<String> = a
        .recent_events()
        .iter()
        .map(|e| format!("{} {}", e.time_ms, e.text))
        .collect();
    let events_b: Vec<String> = b
        .recent_events()
        .iter()
        .map(|e| format!("{} {}", e.time_ms, e.text))
        .collect();
    assert_eq!(events_a, events_b);
    assert_eq!(a.nodes(), b.nodes());
    let end = a.now();
    let nodes_at_end = a.nodes();
    a.seek(SECOND).unwrap();
    assert_eq!(a.now(), SECOND);
    a.seek(end).unwrap();
    assert_eq!(
        a.nodes(),
        nodes_at_end,
        "scrubbing back and forth replays the same run"
    );
    let record = a.record();
    assert_eq!(record.version, RECORD_VERSION);
    let c = Playground::restore(record).unwrap();
    assert_eq!(
        c.nodes(),
        nodes_at_end,
        "a saved run reopens at the same moment"
    );
}

#[test]
fn acting_in_the_past_forks_the_run() {
    let mut p = fresh(4);
    run(&mut p, 2.0);
    p.act(Action::Crash { node: 1 }).unwrap();
    run(&mut p, 2.0);
    p.seek(SECOND).unwrap();
    p.act(Action::Crash { node: 2 }).unwrap();
    run(&mut p, 3.0);
    let nodes = p.nodes();
    assert!(nodes[1].alive, "the later crash of S2 was discarded");
    assert!(!nodes[2].alive);
    assert_eq!(p.record().actions.len(), 1);
}

#[test]
fn bad_options_and_actions_are_refused_with_reasons() {
    let bad = PlaygroundOptions {
        nodes: 12,
        ..PlaygroundOptions::default()
    };
    assert!(
        Playground::new(bad)
            .err()
            .unwrap()
            .contains("between 3 and 9")
    );
    let bad = PlaygroundOptions {
        heartbeat_ms: 5_000.0,
        ..PlaygroundOptions::default()
    };
    assert!(Playground::new(bad).err().unwrap().contains("heartbeat"));
    let parse = |text: &str| serde_json::from_str::<PlaygroundOptions>(text);
    let o = parse(r#"{"read_mode": "read_index", "fanout": "all"}"#).unwrap();
    assert!(Playground::new(o).is_ok());
    let e = parse(r#"{"read_mode": "sometimes"}"#)
        .unwrap_err()
        .to_string();
    assert!(e.contains("read_index"), "the error lists the choices: {e}");
    assert!(parse(r#"{"colour": "red"}"#).is_err(), "unknown option");
    let mut p = fresh(1);
    assert!(
        p.act(Action::Crash { node: 7 })
            .unwrap_err()
            .contains("no node S8")
    );
    assert!(p.act(Action::DropRate { rate: 1.5 }).is_err());
    let mut record = p.record();
    record.version = 99;
    assert!(
        Playground::restore(record)
            .err()
            .unwrap()
            .contains("version")
    );
}

/// Student bug 1: a refused action (crashing a node that is down) is not
/// recorded, so replaying the run (a seek back, a link) never hits it.
#[test]
fn only_actions_that_took_effect_are_recorded() {
    let mut p = fresh(1);
    run(&mut p, 1.0);
    p.act(Action::Crash { node: 2 }).unwrap();
    let again = p.act(Action::Crash { node: 2 });
    assert_eq!(again, Err("S3 is already down".to_string()));
    assert_eq!(p.record().actions.len(), 1);
    run(&mut p, 0.5);
    p.seek(SECOND / 2).unwrap();
    p.seek(2 * SECOND).unwrap();
    let record = p.record();
    assert!(Playground::restore(record).is_ok());
}

/// Student bug 2: the settings of the moment shown, after a seek too.
#[test]
fn settings_are_those_of_the_moment_shown() {
    let mut p = fresh(1);
    run(&mut p, 1.0);
    p.act(Action::DropRate { rate: 0.3 }).unwrap();
    p.act(Action::Auto { on: true }).unwrap();
    run(&mut p, 0.5);
    let s = p.settings();
    assert_eq!((s.drop_rate, s.auto), (0.3, true));
    p.seek(SECOND / 2).unwrap();
    let s = p.settings();
    assert_eq!((s.drop_rate, s.auto), (0.0, false));
    assert_eq!(p.later_actions(), 2);
    assert_eq!(p.act(Action::Heal), Ok(2), "acting in the past discards 2");
}

/// Student bug 4: latency is bounded, and the error is in ms as typed.
#[test]
fn latency_is_bounded_in_the_unit_typed() {
    let mut p = fresh(1);
    for (max_ms, got) in [(1e300, "1e300"), (0.0001, "0.0001"), (f64::NAN, "NaN")] {
        let e = p
            .act(Action::Latency {
                min_ms: 1.0,
                max_ms,
            })
            .unwrap_err();
        assert!(e.contains("between 1 and 10000 ms"), "{e}");
        assert!(e.contains(&format!("got {got} ms")), "{e}");
    }
    let bad = PlaygroundOptions {
        latency_max_ms: 20_000.0,
        ..PlaygroundOptions::default()
    };
    assert!(Playground::new(bad).is_err());
    assert!(p.record().actions.is_empty());
}

/// Student bug 7: a key of spaces is refused.
#[test]
fn a_key_of_spaces_is_refused() {
    let mut p = fresh(1);
    let put = Action::Put {
        key: "  ".into(),
        value: "1".into(),
        node: None,
    };
    assert!(p.act(put).unwrap_err().contains("only spaces"));
}

/// The checks go on after the first violation: under forget_voted_for
/// (planted bug 7) a restart first breaks Persistent State, and then the
/// vote given twice makes two leaders of one term: each check's first
/// violation has its light.
#[test]
fn the_checks_go_on_after_the_first_violation() {
    let mut p = Playground::new(
        serde_json::from_str(
            r#"{"nodes": 3, "seed": 1, "hunt": 7, "pre_vote": false, "vote_guard": false,
                "check_quorum": false, "forward": false, "read_mode": "read_index"}"#,
        )
        .unwrap(),
    )
    .unwrap();
    let ms = |p: &mut Playground, d: u64| p.advance_to(p.now() + d * 1000).unwrap();
    ms(&mut p, 2000);
    let old = leader(&p).unwrap();
    let others: Vec<u16> = (0..3).filter(|&n| n != old).collect();
    let (x, y) = (others[0], others[1]);
    p.act(Action::Cut { from: x, to: y }).unwrap();
    p.act(Action::Timeout { node: x }).unwrap();
    while p.nodes()[old as usize].voted_for != Some(x) {
        ms(&mut p, 1);
    }
    p.act(Action::Crash { node: old }).unwrap();
    p.act(Action::Restart { node: old }).unwrap();
    p.act(Action::Timeout { node: y }).unwrap();
    ms(&mut p, 300);
    let red: Vec<(String, String)> = p
        .lights()
        .into_iter()
        .filter(|l| !l.ok)
        .map(|l| (l.name, l.text.unwrap_or_default()))
        .collect();
    assert_eq!(red.len(), 2, "{red:?}");
    assert_eq!(red[0].0, "Election Safety");
    assert!(red[0].1.ends_with("both lead term 2"), "{red:?}");
    assert_eq!(red[1].0, "More checks");
    assert!(red[1].1.starts_with("Persistent State: "), "{red:?}");
}

/// A partition cuts what is on the wire too: a message in flight across the
/// new cut is lost, one within a group still arrives.
#[test]
fn a_partition_loses_the_messages_in_flight_across_it() {
    let mut p = fresh(3);
    p.advance_to(3 * SECOND).unwrap();
    let l = leader(&p).unwrap();
    put_x(&mut p);
    // The request reaches the leader (one hop), which sends AppendEntries.
    while !p.messages().iter().any(|m| m.from == l && m.entries > 0) {
        p.advance_to(p.now() + 1_000).unwrap();
    }
    p.act(Action::Partition {
        groups: vec![vec![l]],
    })
    .unwrap();
    for m in p.messages() {
        let across = (m.from == l) != (m.to == l);
        let lost = m.lost == Some(raftplay::sim::Loss::Partitioned);
        assert_eq!(across, lost, "{m:?}");
    }
}
