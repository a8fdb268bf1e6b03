//! Helpers shared by the scenario tests: a cluster, a client, and waits.
#![allow(dead_code)]

use raftplay::kv::{Op, Put, Reply, Request, Store};
use raftplay::raft::{Config, Envelope, Node, NodeId, Output, RoleKind, Term, Time};
use raftplay::sim::{Cluster, ClusterOptions};

pub const MS: Time = 1_000;
pub const SECOND: Time = 1_000_000;

pub fn cluster(nodes: usize, seed: u64, raft: Config) -> Cluster {
    Cluster::new(ClusterOptions {
        nodes,
        seed,
        raft,
        trace: true,
        ..ClusterOptions::default()
    })
    .expect("valid options")
}

/// Runs until some live node leads, at most `within`; returns it.
pub fn await_leader(c: &mut Cluster, within: Time) -> NodeId {
    let deadline = c.now() + within;
    while c.now() < deadline {
        if let Some(l) = c.leader() {
            return l;
        }
        let next = c.next_time().unwrap_or(deadline).min(deadline);
        c.run_until(next);
    }
    panic!("no leader within {} ms\n{}", within / MS, dump(c));
}

/// Runs for `duration` of virtual time.
pub fn run_for(c: &mut Cluster, duration: Time) {
    let until = c.now() + duration;
    c.run_until(until);
    assert_eq!(c.violation(), None);
}

pub fn role(c: &Cluster, id: NodeId) -> RoleKind {
    c.node(id).expect("alive").role()
}

pub fn term(c: &Cluster, id: NodeId) -> Term {
    c.node(id).expect("alive").term()
}

/// Sends one request to `to` as client 100 and waits for its answer.
pub fn ask(c: &mut Cluster, to: NodeId, mid: &str, op: Op, within: Time) -> Option<Reply> {
    let request = Request {
        client: 100,
        mid: mid.to_string(),
        op,
    };
    c.request(to, request);
    let deadline = c.now() + within;
    while c.next_time().is_some_and(|t| t <= deadline) {
        if let Some(d) = c.step().filter(|d| d.response.mid == mid) {
            return Some(d.response.reply);
        }
    }
    None
}

pub fn put(key: &str, value: &str) -> Op {
    Op::Put {
        key: key.into(),
        value: value.into(),
    }
}

pub fn get(key: &str) -> Op {
    Op::Get { key: key.into() }
}

pub fn ok(value: &str) -> Option<Reply> {
    Some(Reply::Ok {
        value: Some(value.into()),
    })
}

pub fn dump(c: &Cluster) -> String {
    let lines: Vec<String> = c.trace().iter().map(|e| e.to_string()).collect();
    let tail = lines.len().saturating_sub(60);
    lines[tail..].join("\n")
}

/// Terms of a node's log entries.
pub fn log_terms(c: &Cluster, id: NodeId) -> Vec<Term> {
    c.persistent(id)
        .unwrap()
        .log
        .iter()
        .map(|e| e.term)
        .collect()
}

/// The messages a node asked to send since the last call.
pub fn sent(node: &mut Node<Store>) -> Vec<Envelope<Put>> {
    node.take_outputs()
        .into_iter()
        .filter_map(|o| match o {
            Output::Send(e) => Some(e),
            _ => None,
        })
        .collect()
}
