//! The core driven by hand, message by message, asserting on its outputs.

mod common;

use common::sent;
use raftplay::kv::{Put, Store};
use raftplay::raft::{
    AppendEntries, AppendEntriesResponse, AppendOutcome, Config, Entry, Envelope, Log, Message,
    Node, Output, Persistent, RequestVoteResponse, RoleKind, Time,
};

const GUARD: Time = 1_200_000;

fn entry(term: u64, n: u32) -> Entry<Put> {
    Entry {
        term,
        command: Some(Put {
            client: 9,
            mid: format!("m{n}"),
            key: "k".into(),
            value: n.to_string(),
        }),
    }
}

fn from(from: u16, term: u64, message: Message<Put>) -> Envelope<Put> {
    Envelope {
        from,
        to: 0,
        term,
        message,
    }
}

fn ack(peer: u16, term: u64, index: u64) -> Envelope<Put> {
    from(
        peer,
        term,
        Message::AppendEntriesResponse(AppendEntriesResponse {
            outcome: AppendOutcome::Matched { index },
            stamp: GUARD,
        }),
    )
}

/// S1 among `members`, restarted in term 3 with `log` (PreVote off), that
/// has just started an election for term 4.
fn candidate_of_term_4(members: &[u16], log: Log<Put>) -> Node<Store> {
    let config = Config {
        pre_vote: false,
        ..Config::default()
    };
    let state = Persistent {
        current_term: 3,
        voted_for: None,
        log,
    };
    let mut n = Node::restart(0, members, config, 1, 0, Store::default(), state);
    n.campaign(GUARD);
    n
}

/// S1 of five, restarted in term 3 with `log`, elected leader of term 4 by
/// S2 and S3.
fn leader_of_term_4(log: Log<Put>) -> Node<Store> {
    let mut n = candidate_of_term_4(&[0, 1, 2, 3, 4], log);
    assert_eq!((n.role(), n.term()), (RoleKind::Candidate, 4));
    let requests = sent(&mut n);
    assert_eq!(requests.len(), 4, "RequestVote to each peer");
    for peer in [1, 2] {
        let granted = Message::RequestVoteResponse(RequestVoteResponse {
            granted: true,
            pre_vote: false,
            commit_index: 0,
        });
        n.step(GUARD, from(peer, 4, granted));
    }
    assert_eq!(n.role(), RoleKind::Leader);
    n
}

/// §5.4.2, Figure 8: an entry of an earlier term stored on a majority is
/// not committed by counting; it commits only with an entry of the current
/// term (the new leader's no-op).
#[test]
fn figure_8_entries_of_earlier_terms_commit_only_indirectly() {
    let mut log = Log::default();
    log.append(entry(1, 1));
    log.append(entry(2, 2));
    let mut n = leader_of_term_4(log);
    assert_eq!(n.log().last_index(), 3, "the no-op of term 4");
    sent(&mut n);
    n.step(GUARD, ack(1, 4, 2));
    n.step(GUARD, ack(2, 4, 2));
    assert_eq!(
        n.commit_index(),
        0,
        "index 2 is on a majority but of term 2"
    );
    n.step(GUARD, ack(1, 4, 3));
    assert_eq!(n.commit_index(), 0, "index 3 is on two of five");
    n.step(GUARD, ack(2, 4, 3));
    assert_eq!(
        n.commit_index(),
        3,
        "index 3 of term 4 commits, and 2 with it"
    );
}

/// A new leader does not answer entries that its voters already knew were
/// committed (an earlier leader answered those), and answers the rest.
#[test]
fn new_leader_answers_only_entries_past_the_known_commit_index() {
    let mut log = Log::default();
    for i in 1..=3 {
        log.append(entry(3, i));
    }
    let mut n = candidate_of_term_4(&[0, 1, 2], log);
    sent(&mut n);
    let granted = Message::RequestVoteResponse(RequestVoteResponse {
        granted: true,
        pre_vote: false,
        commit_index: 2,
    });
    n.step(GUARD, from(1, 4, granted));
    sent(&mut n);
    n.step(GUARD, ack(1, 4, 4));
    assert_eq!(n.commit_index(), 4);
    let answered: Vec<String> = n
        .take_outputs()
        .into_iter()
        .filter_map(|o| match o {
            Output::Reply(a) => Some(a.mid),
            _ => None,
        })
        .collect();
    assert_eq!(
        answered,
        ["m3"],
        "m1 and m2 were answered by the old leader"
    );
}

/// Same inputs, same outputs: two nodes with one seed behave identically,
/// and another seed draws other election timeouts.
#[test]
fn nodes_are_deterministic_given_their_seed() {
    let run = |seed: u64| {
        let mut n = Node::new(0, &[0, 1, 2], Config::default(), seed, 0, Store::default());
        let mut log = Vec::new();
        for _ in 0..5 {
            let t = n.next_deadline();
            n.tick(t);
            log.push(format!("{t} {:?} {:?}", n.role(), n.take_outputs()));
        }
        log
    };
    assert_eq!(run(42), run(42));
    assert_ne!(run(42), run(43));
}

/// Messages from strangers or for someone else are ignored.
#[test]
fn messages_from_unknown_senders_are_ignored() {
    let mut n = Node::new(0, &[0, 1, 2], Config::default(), 1, 0, Store::default());
    let heartbeat = Message::AppendEntries(AppendEntries {
        prev_log_index: 0,
        prev_log_term: 0,
        entries: vec![],
        leader_commit: 0,
        stamp: 0,
    });
    n.step(10, from(7, 5, heartbeat.clone()));
    let mut misrouted = from(1, 5, heartbeat);
    misrouted.to = 2;
    n.step(10, misrouted);
    assert_eq!((n.term(), n.leader()), (0, None));
    assert!(n.take_outputs().is_empty());
}

/// §5.3: a follower rejects entries that do not follow one it has, with a
/// hint that lets the leader skip a whole conflicting term.
#[test]
fn follower_rejects_with_a_conflict_hint() {
    let mut log = Log::default();
    for (i, t) in [1, 2, 2, 2].iter().enumerate() {
        log.append(entry(*t, i as u32));
    }
    let state = Persistent {
        current_term: 2,
        voted_for: None,
        log,
    };
    let mut n = Node::restart(0, &[0, 1], Config::default(), 1, 0, Store::default(), state);
    let append = Message::AppendEntries(AppendEntries {
        prev_log_index: 4,
        prev_log_term: 3,
        entries: vec![],
        leader_commit: 0,
        stamp: 7,
    });
    n.step(10, from(1, 3, append));
    let reply = sent(&mut n).pop().unwrap();
    let expected = Message::AppendEntriesResponse(AppendEntriesResponse {
        outcome: AppendOutcome::Conflict {
            term: 2,
            first_index: 2,
        },
        stamp: 7,
    });
    assert_eq!((reply.to, reply.term, reply.message), (1, 3, expected));
}

/// A rejection answers one AppendEntries. Once the leader has backed up and
/// sent again, rejections of older AppendEntries (delayed, duplicated) cost
/// no further resend: the grader counts every message.
#[test]
fn stale_and_duplicated_rejections_cost_no_resend() {
    let mut n = leader_of_term_4(Log::default());
    sent(&mut n);
    let reject = |stamp| {
        from(
            1,
            4,
            Message::AppendEntriesResponse(AppendEntriesResponse {
                outcome: AppendOutcome::LogTooShort { next_index: 1 },
                stamp,
            }),
        )
    };
    n.step(GUARD + 10, reject(GUARD));
    assert_eq!(sent(&mut n).len(), 1, "backs up and sends again");
    n.step(GUARD + 20, reject(GUARD));
    assert!(sent(&mut n).is_empty(), "the same rejection again");
    n.step(GUARD + 30, reject(GUARD - 5));
    assert!(sent(&mut n).is_empty(), "a rejection of an older send");
    n.step(GUARD + 40, reject(GUARD + 10));
    assert_eq!(sent(&mut n).len(), 1, "a rejection of the new send");
}
