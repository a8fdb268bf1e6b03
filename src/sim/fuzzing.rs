//! The fuzz targets' bodies (`fuzz/`, run with `cargo +nightly fuzz`), kept
//! here so that every input a fuzzer found to crash can be replayed as a
//! regression test under `cargo test` (`tests/fuzz_regressions.rs`).
//!
//! Owns no state; each function panics on a broken expectation, which is
//! what the fuzzer looks for.

use crate::kv::{Get, Put, Store};
use crate::raft::{
    AppendEntries, AppendEntriesResponse, AppendOutcome, Config, Entry, Envelope, Message, Node,
    Output, RequestVote, RequestVoteResponse, Time,
};
use crate::wire::{self, Incoming};

/// Any datagram, decoded as the replica and the grader decode them: no
/// panic, and whatever decodes as a peer message encodes back to bytes that
/// decode to the same message.
pub fn wire_decode(data: &[u8]) {
    let known = |p: u16| p < 5;
    if let Ok(Incoming::Peer { envelope }) = wire::decode_for_replica(data, 0, known) {
        let again = wire::encode_envelope(&envelope, None);
        match wire::decode_for_replica(&again, 0, known) {
            Ok(Incoming::Peer { envelope: back }) => assert_eq!(back, envelope),
            other => panic!("re-encoded message does not decode: {other:?}"),
        }
    }
    let _ = wire::header(data);
    let _ = wire::decode_response(data);
    let _ = wire::is_hello(data, 0);
}

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn small(&mut self) -> Option<u64> {
        self.byte().map(|b| u64::from(b % 16))
    }
}

fn put(n: u64) -> Put {
    Put {
        client: 9,
        mid: format!("m{n}"),
        key: "k".into(),
        value: n.to_string(),
    }
}

fn message(b: &mut Bytes) -> Option<Message<Put>> {
    Some(match b.byte()? % 8 {
        0 => {
            let count = b.small()? % 4;
            let mut entries = Vec::new();
            for _ in 0..count {
                let term = b.small()?;
                let command = (b.byte()? % 4 != 0).then(|| put(b.0.len() as u64));
                entries.push(Entry { term, command });
            }
            Message::AppendEntries(AppendEntries {
                prev_log_index: b.small()?,
                prev_log_term: b.small()?,
                entries,
                leader_commit: b.small()?,
                stamp: b.small()? * 1_000,
            })
        }
        1 => {
            let index = b.small()?;
            let success = b.byte()? % 2 == 0;
            let conflict_term = (b.byte()? % 2 == 0).then_some(b.small()?);
            let outcome = match (success, conflict_term) {
                (true, _) => AppendOutcome::Matched { index },
                (false, Some(term)) => AppendOutcome::Conflict {
                    term,
                    first_index: index,
                },
                (false, None) => AppendOutcome::LogTooShort { next_index: index },
            };
            let stamp = b.small()? * 1_000;
            Message::AppendEntriesResponse(AppendEntriesResponse { outcome, stamp })
        }
        2 => Message::RequestVote(RequestVote {
            last_log_index: b.small()?,
            last_log_term: b.small()?,
            pre_vote: b.byte()? % 2 == 0,
        }),
        3 => Message::RequestVoteResponse(RequestVoteResponse {
            granted: b.byte()? % 2 == 0,
            pre_vote: b.byte()? % 2 == 0,
            commit_index: b.small()?,
        }),
        4 => Message::Forward {
            commands: vec![put(b.small()?)],
        },
        5 => Message::Probe,
        _ => Message::Commit { index: b.small()? },
    })
}

/// One input the bytes choose for [`node_messages`]' node: a tick, a put,
/// a get or a message from a peer; false when the bytes run out mid-message.
fn node_input(node: &mut Node<Store>, b: &mut Bytes, op: u8, now: Time) -> bool {
    match op % 6 {
        0 => node.tick(now),
        1 => {
            let _ = node.propose(now, put(now));
        }
        2 => {
            let get = Get {
                client: 9,
                mid: format!("g{now}"),
                key: "k".into(),
            };
            let _ = node.read(now, get);
        }
        _ => {
            let Some(message) = message(b) else {
                return false;
            };
            let from = 1 + u16::from(op % 2);
            let term = b.small().unwrap_or(0);
            let envelope = Envelope {
                from,
                to: 0,
                term,
                message,
            };
            node.step(now, envelope);
        }
    }
    true
}

/// One node fed an arbitrary sequence of ticks, proposals, reads and
/// messages from two peers that may lie, repeat themselves or arrive out of
/// order: no panic, and the node's own invariants hold after every input
/// (its term and commit index never go back, it commits only what its log
/// holds, it votes at most once per term, a leader voted for itself).
pub fn node_messages(data: &[u8]) {
    let mut b = Bytes(data);
    let mut node = Node::new(0, &[0, 1, 2], Config::default(), 7, 0, Store::default());
    let mut now: Time = 0;
    let mut votes: Vec<(u64, u16)> = Vec::new();
    let (mut term, mut commit) = (0, 0);
    while let Some(op) = b.byte() {
        now += u64::from(b.byte().unwrap_or(0)) * 20_000;
        if !node_input(&mut node, &mut b, op, now) {
            break;
        }
        assert!(node.term() >= term, "term went back");
        assert!(node.commit_index() >= commit, "commit index went back");
        let last = node.log().last_index();
        assert!(node.commit_index() <= last, "commits beyond its log");
        term = node.term();
        commit = node.commit_index();
        for output in node.take_outputs() {
            if let Output::Send(e) = output
                && let Message::RequestVoteResponse(r) = e.message
                && r.granted
                && !r.pre_vote
            {
                let earlier = votes.iter().find(|(t, _)| *t == e.term);
                assert!(
                    earlier.is_none_or(|(_, c)| *c == e.to),
                    "two votes in term {}",
                    e.term
                );
                votes.push((e.term, e.to));
            }
        }
        if node.is_leader() {
            assert_eq!(node.voted_for(), Some(0), "leads without its own vote");
        }
    }
}
