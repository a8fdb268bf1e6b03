//! Whole-cluster stories on the simulator at its default timings: what a
//! rule of the paper (or an extension) does to a running cluster and its
//! message counts. Every run also checks the safety invariants after each
//! event. The message-by-message stories of each rule are the scripts in
//! `tests/scripts/` (`tests/scripts.rs`).

mod common;

use common::*;
use raftplay::kv::Reply;
use raftplay::raft::{Config, Fanout, ReadMode, RoleKind};
use raftplay::sim::Cluster;

fn no_prevote() -> Config {
    Config {
        pre_vote: false,
        ..Config::default()
    }
}

/// §5.2: a fresh cluster elects exactly one leader, and it serves a put and
/// a get.
#[test]
fn election_then_put_and_get() {
    let mut c = cluster(5, 7, Config::default());
    let leader = await_leader(&mut c, 5 * SECOND);
    let leaders = c
        .alive()
        .iter()
        .filter(|&&i| role(&c, i) == RoleKind::Leader)
        .count();
    assert_eq!(leaders, 1);
    let reply = ask(&mut c, leader, "m1", put("k", "v1"), SECOND);
    assert_eq!(reply, Some(Reply::Ok { value: None }));
    assert_eq!(ask(&mut c, leader, "m2", get("k"), SECOND), ok("v1"));
    assert_eq!(ask(&mut c, leader, "m3", get("nothing"), SECOND), ok(""));
    run_for(&mut c, SECOND);
    for id in c.alive() {
        let store = c.node(id).unwrap().state_machine();
        assert_eq!(
            store.get("k").map(String::as_str),
            Some("v1"),
            "S{} applied it",
            id + 1
        );
    }
}

/// §5.1, stale leader: a leader cut off from the majority is replaced; when
/// the partition heals it learns the newer term and steps down, and the put
/// a client gave it meanwhile is handed to the new leader and answered.
#[test]
fn stale_leader_steps_down_and_hands_over_its_writes() {
    let config = Config {
        check_quorum: false,
        ..Config::default()
    };
    let mut c = cluster(5, 11, config);
    let old = await_leader(&mut c, 5 * SECOND);
    let others: Vec<_> = c.alive().into_iter().filter(|&i| i != old).collect();
    c.partition(&[vec![old], others.clone()]).unwrap();
    assert_eq!(ask(&mut c, old, "stuck", put("k", "v"), 100 * MS), None);
    let old_term = term(&c, old);
    run_for(&mut c, 4 * SECOND);
    let new = c
        .alive()
        .into_iter()
        .find(|&i| i != old && role(&c, i) == RoleKind::Leader);
    let new = new.expect("the majority elected a new leader");
    assert!(term(&c, new) > old_term);
    assert_eq!(
        role(&c, old),
        RoleKind::Leader,
        "without CheckQuorum it does not know yet"
    );
    c.heal();
    let mut answered = None;
    let until = c.now() + 2 * SECOND;
    while c.now() < until && answered.is_none() {
        if let Some(d) = c.step() {
            answered = Some(d);
        }
    }
    assert_eq!(role(&c, old), RoleKind::Follower);
    assert_eq!(term(&c, old), term(&c, new));
    let d = answered.expect("the stuck put is answered after the heal");
    assert_eq!((d.response.mid.as_str(), d.from), ("stuck", new));
    assert_eq!(d.response.reply, Reply::Ok { value: None });
    assert_eq!(ask(&mut c, new, "g", get("k"), SECOND), ok("v"));
}

/// PreVote off: a follower cut off from the others keeps starting elections,
/// and when it returns its high term deposes a healthy leader.
#[test]
fn partition_and_heal_without_prevote_disrupts_the_leader() {
    let mut c = cluster(5, 21, no_prevote());
    let leader = await_leader(&mut c, 5 * SECOND);
    let lonely = (leader + 1) % 5;
    let before = term(&c, leader);
    c.partition(&[vec![lonely]]).unwrap();
    run_for(&mut c, 8 * SECOND);
    assert!(
        term(&c, lonely) >= before + 2,
        "it bumps its term again and again"
    );
    assert_eq!(term(&c, leader), before);
    c.heal();
    run_for(&mut c, 3 * SECOND);
    let now_leader = await_leader(&mut c, 5 * SECOND);
    assert!(term(&c, now_leader) > before, "the old term is over");
}

/// PreVote on: the same partition leaves every term alone, and the leader
/// keeps leading after the heal.
#[test]
fn partition_and_heal_with_prevote_leaves_the_leader_alone() {
    let mut c = cluster(5, 21, Config::default());
    let leader = await_leader(&mut c, 5 * SECOND);
    let lonely = (leader + 1) % 5;
    let before = term(&c, leader);
    c.partition(&[vec![lonely]]).unwrap();
    run_for(&mut c, 8 * SECOND);
    assert_eq!(
        term(&c, lonely),
        before,
        "pre-votes fail without bumping the term"
    );
    c.heal();
    run_for(&mut c, 3 * SECOND);
    assert_eq!(c.leader(), Some(leader));
    assert_eq!(term(&c, leader), before);
    assert_eq!(
        ask(&mut c, leader, "p", put("a", "1"), SECOND),
        Some(Reply::Ok { value: None })
    );
}

/// A one-way cut from the leader to one follower: that follower times out,
/// but PreVote and vote stickiness keep the others with their leader.
#[test]
fn one_way_cut_does_not_depose_a_healthy_leader() {
    let mut c = cluster(5, 4, Config::default());
    let leader = await_leader(&mut c, 5 * SECOND);
    let deaf = (leader + 2) % 5;
    c.cut(leader, deaf).unwrap();
    run_for(&mut c, 10 * SECOND);
    assert_eq!(c.leader(), Some(leader));
    let timeouts = c
        .trace()
        .iter()
        .filter(|e| e.to_string().contains(&format!("S{} timed out", deaf + 1)))
        .count();
    assert!(timeouts >= 1, "the deaf follower did time out");
}

/// Leader completeness across crashes: every node crashes and restarts with
/// only its persistent state; the committed data is all there.
#[test]
fn crash_and_restart_keep_committed_data() {
    let mut c = cluster(3, 13, Config::default());
    let leader = await_leader(&mut c, 5 * SECOND);
    for i in 0..5 {
        let reply = ask(
            &mut c,
            leader,
            &format!("p{i}"),
            put(&format!("k{i}"), "v"),
            SECOND,
        );
        assert_eq!(reply, Some(Reply::Ok { value: None }));
    }
    for id in 0..3 {
        c.crash(id).unwrap();
    }
    run_for(&mut c, 100 * MS);
    for id in 0..3 {
        c.restart(id).unwrap();
    }
    let leader = await_leader(&mut c, 10 * SECOND);
    for i in 0..5 {
        let reply = ask(
            &mut c,
            leader,
            &format!("g{i}"),
            get(&format!("k{i}")),
            SECOND,
        );
        assert_eq!(reply, ok("v"));
    }
}

/// Killing the leader: a new one is elected, serves what was committed, and
/// answers a put that was in flight when the old one died.
#[test]
fn leader_crash_elects_a_new_leader_that_keeps_committed_writes() {
    let mut c = cluster(5, 17, Config::default());
    let leader = await_leader(&mut c, 5 * SECOND);
    assert_eq!(
        ask(&mut c, leader, "a", put("k", "1"), SECOND),
        Some(Reply::Ok { value: None })
    );
    c.crash(leader).unwrap();
    let new = await_leader(&mut c, 5 * SECOND);
    assert_ne!(new, leader);
    assert_eq!(ask(&mut c, new, "b", get("k"), SECOND), ok("1"));
}

fn messages_for(c: &mut Cluster, to: u16, mid: &str, op: raftplay::kv::Op) -> u64 {
    let before = c.stats.replica_messages;
    assert!(ask(c, to, mid, op, 100 * MS).is_some());
    c.stats.replica_messages - before
}

/// Reads: a lease answers a get without any message; ReadIndex confirms
/// leadership with a heartbeat round first. Both give the latest value.
#[test]
fn lease_reads_cost_nothing_read_index_costs_a_round() {
    for (mode, cost) in [(ReadMode::Lease, 0), (ReadMode::ReadIndex, 8)] {
        let config = Config {
            read_mode: mode,
            ..Config::default()
        };
        let mut c = cluster(5, 2, config);
        let leader = await_leader(&mut c, 5 * SECOND);
        assert!(ask(&mut c, leader, "p", put("k", "v"), SECOND).is_some());
        let sent = messages_for(&mut c, leader, "g", get("k"));
        assert_eq!(sent, cost, "{mode:?}");
        assert_eq!(ask(&mut c, leader, "g2", get("k"), SECOND), ok("v"));
    }
}

/// Replication fan-out: a put costs one AppendEntries and one reply per
/// follower needed for a majority, or per follower with `Fanout::All`.
#[test]
fn quorum_fanout_halves_messages_per_put() {
    for (fanout, cost) in [(Fanout::Quorum, 4), (Fanout::All, 8)] {
        let config = Config {
            fanout,
            ..Config::default()
        };
        let mut c = cluster(5, 2, config);
        let leader = await_leader(&mut c, 5 * SECOND);
        run_for(&mut c, 50 * MS);
        let sent = messages_for(&mut c, leader, "p", put("k", "v"));
        assert_eq!(sent, cost, "{fanout:?}");
    }
}
