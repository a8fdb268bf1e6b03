//! Bugs found by review, each reproduced as it was reported: every test here
//! failed before its fix.

mod common;

use common::*;
use raftplay::kv::{Put, Reply, Store};
use raftplay::raft::{
    AppendEntries, Config, Entry, Envelope, Message, Node, RequestVote, RequestVoteResponse,
    RoleKind, Time,
};

const GUARD: Time = 1_200_000;

fn to_s1(from: u16, term: u64, message: Message<Put>) -> Envelope<Put> {
    Envelope {
        from,
        to: 0,
        term,
        message,
    }
}

fn heartbeat(stamp: Time) -> Message<Put> {
    Message::AppendEntries(AppendEntries {
        prev_log_index: 0,
        prev_log_term: 0,
        entries: vec![],
        leader_commit: 0,
        stamp,
    })
}

fn granted(message: &Message<Put>) -> bool {
    matches!(
        message,
        Message::RequestVoteResponse(RequestVoteResponse { granted: true, .. })
    )
}

/// Bug 1: a follower that has just acknowledged its leader's heartbeat is
/// moved into a newer term by a message that is not a vote request (here a
/// delayed PreVote refusal carrying term 2), then asked for its vote in that
/// term. Granting it would let a second leader commit while the first still
/// serves lease reads from a majority that includes this follower.
#[test]
fn no_vote_inside_the_guard_whatever_moved_the_term() {
    let mut x = Node::new(0, &[0, 1, 2], Config::default(), 1, 0, Store::default());
    let t = 3 * GUARD;
    x.step(t, to_s1(1, 1, heartbeat(t)));
    assert_eq!((x.term(), x.leader()), (1, Some(1)));
    sent(&mut x);
    let refusal = Message::RequestVoteResponse(RequestVoteResponse {
        granted: false,
        pre_vote: true,
        commit_index: 0,
    });
    x.step(t + 10, to_s1(2, 2, refusal));
    assert_eq!(x.term(), 2, "a higher term is adopted from any message");
    let ask = Message::RequestVote(RequestVote {
        last_log_index: 0,
        last_log_term: 0,
        pre_vote: false,
    });
    x.step(t + 20, to_s1(2, 2, ask.clone()));
    let replies = sent(&mut x);
    assert!(
        replies.iter().all(|e| !granted(&e.message)),
        "vote granted inside the guard: {replies:?}"
    );
    assert_eq!(x.voted_for(), None);
    // Once the guard lapses, the same request is granted.
    x.step(t + GUARD, to_s1(2, 2, ask));
    assert!(sent(&mut x).iter().any(|e| granted(&e.message)));
}

/// Bug 1, second path: a forced timeout (the playground's button) inside the
/// guard must not make the node vote for itself.
#[test]
fn a_forced_timeout_waits_for_the_guard() {
    let config = Config {
        pre_vote: false,
        ..Config::default()
    };
    let mut x = Node::new(0, &[0, 1, 2], config, 1, 0, Store::default());
    let t = 3 * GUARD;
    x.step(t, to_s1(1, 1, heartbeat(t)));
    sent(&mut x);
    x.campaign(t + 10);
    assert_eq!((x.role(), x.term()), (RoleKind::Follower, 1));
    assert!(sent(&mut x).is_empty(), "no RequestVote inside the guard");
    assert_eq!(
        x.next_deadline(),
        t + GUARD,
        "the timeout fires at the guard's end"
    );
    x.tick(t + GUARD);
    assert_eq!((x.role(), x.term()), (RoleKind::Candidate, 2));
}

/// Bug 2: with the leader-to-X direction cut, X never hears of a leader
/// again (its PreVotes are refused by followers that do). A request sent to
/// X must still be answered, here with `fail`, in bounded time.
#[test]
fn a_follower_cut_off_from_its_leader_answers_held_requests() {
    let mut c = cluster(3, 1, Config::default());
    let leader = await_leader(&mut c, 10 * SECOND);
    run_for(&mut c, SECOND);
    let x = (leader + 1) % 3;
    c.cut(leader, x).unwrap();
    run_for(&mut c, 5 * SECOND);
    let reply = ask(&mut c, x, "held", put("k", "v"), 20 * SECOND);
    assert_eq!(reply, Some(Reply::Fail), "{}", dump(&c));
}

fn put_entry(term: u64, mid: &str) -> Entry<Put> {
    Entry {
        term,
        command: Some(Put {
            client: 9,
            mid: mid.into(),
            key: "k".into(),
            value: mid.into(),
        }),
    }
}

fn forwards(envelopes: &[Envelope<Put>]) -> usize {
    let is_forward = |e: &&Envelope<Put>| matches!(e.message, Message::Forward { .. });
    envelopes.iter().filter(is_forward).count()
}

/// Bug 3: a deposed leader hands the commands it lost to the new leader with
/// a Forward. A lost Forward used to leave their clients unanswered for ever;
/// now it is sent again until the commands come back in the new leader's
/// entries.
#[test]
fn a_lost_forward_is_sent_again_until_the_leader_has_it() {
    let config = Config {
        pre_vote: false,
        ..Config::default()
    };
    let mut n = Node::new(0, &[0, 1, 2], config.clone(), 1, 0, Store::default());
    n.campaign(GUARD);
    let vote = Message::RequestVoteResponse(RequestVoteResponse {
        granted: true,
        pre_vote: false,
        commit_index: 0,
    });
    n.step(GUARD, to_s1(1, 1, vote));
    assert!(n.is_leader());
    let command = put_entry(1, "lost").command.unwrap();
    n.propose(GUARD, command.clone()).unwrap();
    sent(&mut n);
    // S2 leads term 2 without the entry and overwrites it.
    let t = GUARD + 10_000;
    let overwrite = Message::AppendEntries(AppendEntries {
        prev_log_index: 0,
        prev_log_term: 0,
        entries: vec![Entry {
            term: 2,
            command: None,
        }],
        leader_commit: 0,
        stamp: t,
    });
    n.step(t, to_s1(1, 2, overwrite));
    assert_eq!(forwards(&sent(&mut n)), 1, "handed over at once");
    // That Forward is lost: it goes again after the retry timeout.
    let retry = n.next_deadline();
    assert_eq!(retry, t + config.retry_timeout);
    n.tick(retry);
    assert_eq!(forwards(&sent(&mut n)), 1, "sent again");
    // The new leader proposed it: it arrives in an AppendEntries.
    let back = Message::AppendEntries(AppendEntries {
        prev_log_index: 1,
        prev_log_term: 2,
        entries: vec![Entry {
            term: 2,
            command: Some(command),
        }],
        leader_commit: 0,
        stamp: retry + 1,
    });
    n.step(retry + 1, to_s1(1, 2, back));
    sent(&mut n);
    n.tick(retry + 10 * config.retry_timeout);
    assert_eq!(
        forwards(&sent(&mut n)),
        0,
        "no more Forwards once it is back"
    );
}

/// Bug 0: after the leader dies, a new leader answers the requests that
/// waited during the election all at once, and followers redirect every
/// request they held: bursts of a hundred datagrams or more. The grader's
/// socket for that replica overflows and the kernel drops answers to puts
/// that committed, so later gets return values the clients never saw
/// acknowledged. The simulator models that socket; the replica now paces
/// its datagrams. Unpaced, the same runs fail.
#[test]
fn bursts_of_answers_no_longer_overflow_the_graders_socket() {
    use raftplay::grader::GraderConfig;
    use raftplay::grader::{SimOptions, run_sim};
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/configs/leader-kill-under-load.json"
    );
    let config = GraderConfig::load_all(&[path.to_string()])
        .unwrap()
        .remove(0);
    // A burst overflows the socket in most runs, not all (41 of seeds 1 to
    // 50 unpaced, `gradesim sim --no-pace`): every paced run passes, and
    // at least 7 of 10 unpaced ones fail (8 of these 10 do today).
    let mut unpaced_failed = 0;
    for seed in 1..=10 {
        let paced = SimOptions {
            seed,
            ..SimOptions::default()
        };
        let outcome = run_sim(&config, &paced).unwrap();
        assert!(outcome.passed(), "seed {seed}: {:?}", outcome.score.checks);
        let unpaced = SimOptions {
            pace: false,
            ..paced
        };
        unpaced_failed += usize::from(!run_sim(&config, &unpaced).unwrap().passed());
    }
    assert!(
        unpaced_failed >= 7,
        "unpaced bursts lost answers in only {unpaced_failed} of 10 runs"
    );
}
