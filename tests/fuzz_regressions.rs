//! Every input a fuzzer found to crash (`tests/fuzz/<target>/`), replayed:
//! each failed before its fix.

use raftplay::sim::fuzzing;
use std::path::Path;

fn replay(target: &str, body: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz")
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    for entry in entries.flatten() {
        let data = std::fs::read(entry.path()).expect("readable");
        body(&data);
    }
}

/// A peer claiming to lead truncated entries the node had committed (the
/// node now refuses entries that conflict with its committed prefix), or
/// sent a commit notice past a log that a truncation had shortened.
#[test]
fn node_messages_regressions() {
    replay("node_messages", fuzzing::node_messages);
}

#[test]
fn wire_decode_regressions() {
    replay("wire_decode", fuzzing::wire_decode);
}

/// The first crash `node_messages` found, written out: a peer claiming to
/// lead a newer term sends entries that conflict with ones this node has
/// committed. The node keeps its committed prefix and refuses.
#[test]
fn entries_conflicting_with_committed_ones_are_refused() {
    use raftplay::kv::{Put, Store};
    use raftplay::raft::{AppendEntries, Config, Entry, Envelope, Message, Node};
    let put = |n: u32| Put {
        client: 9,
        mid: format!("m{n}"),
        key: "k".into(),
        value: n.to_string(),
    };
    let mut node = Node::new(0, &[0, 1, 2], Config::default(), 7, 0, Store::default());
    let append = |term, entries: Vec<Entry<Put>>, commit| Envelope {
        from: 1,
        to: 0,
        term,
        message: Message::AppendEntries(AppendEntries {
            prev_log_index: 0,
            prev_log_term: 0,
            entries,
            leader_commit: commit,
            stamp: 0,
        }),
    };
    let mine = (1..=2)
        .map(|n| Entry {
            term: 1,
            command: Some(put(n)),
        })
        .collect();
    node.step(10, append(1, mine, 2));
    assert_eq!((node.commit_index(), node.log().last_index()), (2, 2));
    let theirs = vec![Entry {
        term: 2,
        command: Some(put(9)),
    }];
    node.step(20, append(2, theirs, 0));
    assert_eq!(node.log().term(1), Some(1), "committed entry kept");
    assert_eq!(node.commit_index(), 2);
}
