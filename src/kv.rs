//! The replicated key-value store and the rules for answering its clients.
//!
//! Owns the store ([`Store`], the state machine the Raft log drives) and the
//! replica's client policy ([`Server`]): who answers what, when to redirect,
//! when to hold a request. It follows the course grader's contract:
//!
//! - A `put` becomes a log entry carrying the client and its request id
//!   (MID); whichever node leads when the entry commits answers it, so a
//!   committed put is always acknowledged, and the store applies each MID at
//!   most once, so none is answered twice by the same leader.
//! - A `get` is served by the leader without a log entry (a lease or a
//!   ReadIndex round, see [`crate::raft::ReadMode`]).
//! - A non-leader answers `redirect` with the leader it has just heard from;
//!   otherwise (no leader known, or none heard from for a while, perhaps
//!   dead) it holds the request until the next sign of life from a leader,
//!   or until it becomes leader itself, rather than bouncing the client to a
//!   leader that may be gone.
//! - A request is never answered after a `redirect` or `fail` for it: both are
//!   only given for requests that were not put in the log.
//!
//! Must not touch: sockets, JSON, clocks. The wire format is the replica
//! binary's business; time comes in as `now`.

use crate::raft::{Envelope, Node, NodeId, NotLeader, Output, Reason, StateMachine, Time};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// A client's identity (the grader numbers clients after the replicas).
pub type ClientId = u16;

/// A replicated write: the log entry's command.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Put {
    pub client: ClientId,
    pub mid: String,
    pub key: String,
    pub value: String,
}

/// A read, answered from the applied state.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Get {
    pub client: ClientId,
    pub mid: String,
    pub key: String,
}

/// The store's answer to an applied put (`value: None`) or a get.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub client: ClientId,
    pub mid: String,
    pub value: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Op {
    Get { key: String },
    Put { key: String, value: String },
}

impl Op {
    /// A put of `value` to `key`, or a get of `key` if there is no value.
    pub fn on(key: &str, put: Option<&String>) -> Op {
        let key = key.to_string();
        match put {
            Some(value) => Op::Put {
                key,
                value: value.clone(),
            },
            None => Op::Get { key },
        }
    }

    /// Bytes of key and value.
    pub fn size(&self) -> usize {
        match self {
            Op::Get { key } => key.len(),
            Op::Put { key, value } => key.len() + value.len(),
        }
    }
}

/// Requests larger than this (key plus value, bytes) are refused with
/// `fail`, so that every AppendEntries fits in a datagram. A rule of the
/// server, so the replica, the simulator and the playground all apply it.
pub const MAX_REQUEST_BYTES: usize = 16 * 1024;

/// A client request as it reaches a replica.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Request {
    pub client: ClientId,
    pub mid: String,
    pub op: Op,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Reply {
    /// Success; `value` is set for gets ("" for a key never put).
    Ok {
        value: Option<String>,
    },
    Redirect,
    Fail,
}

/// A replica's response to a client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    pub client: ClientId,
    pub mid: String,
    /// Who the replica believes leads (a redirect's target).
    pub leader: Option<NodeId>,
    pub reply: Reply,
}

/// The key-value map, and which request ids have been applied.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Store {
    data: BTreeMap<String, String>,
    applied: BTreeMap<ClientId, BTreeSet<String>>,
    /// A digest of `data`, kept up to date on every put (the XOR of a hash
    /// of each pair): the simulator compares stores after every commit.
    digest: u64,
}

fn pair_hash(key: &str, value: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (key, value).hash(&mut h);
    h.finish()
}

impl Store {
    pub fn get(&self, key: &str) -> Option<&String> {
        self.data.get(key)
    }

    pub fn data(&self) -> &BTreeMap<String, String> {
        &self.data
    }

    /// A digest of the contents: equal stores have equal digests.
    pub fn digest(&self) -> u64 {
        self.digest
    }

    /// Whether the put with this client and MID has been applied.
    pub fn is_applied(&self, client: ClientId, mid: &str) -> bool {
        self.applied.get(&client).is_some_and(|m| m.contains(mid))
    }
}

impl StateMachine for Store {
    type Command = Put;
    type Query = Get;
    type Reply = Answer;

    fn apply(&mut self, put: &Put) -> Option<Answer> {
        let fresh = self
            .applied
            .entry(put.client)
            .or_default()
            .insert(put.mid.clone());
        if !fresh {
            return None;
        }
        if let Some(old) = self.data.insert(put.key.clone(), put.value.clone()) {
            self.digest ^= pair_hash(&put.key, &old);
        }
        self.digest ^= pair_hash(&put.key, &put.value);
        Some(Answer {
            client: put.client,
            mid: put.mid.clone(),
            value: None,
        })
    }

    fn applied(&self, put: &Put) -> bool {
        self.is_applied(put.client, &put.mid)
    }

    fn command_size(put: &Put) -> usize {
        /// What an entry adds on the wire around its key, value and MID: it
        /// travels as the JSON array `[term, client, "mid", "key", "value"]`,
        /// so two numbers of up to 20 digits, six quotes and five separators.
        const ENTRY_FRAMING_BYTES: usize = 48;
        put.key.len() + put.value.len() + put.mid.len() + ENTRY_FRAMING_BYTES
    }

    fn query(&self, get: &Get) -> Answer {
        Answer {
            client: get.client,
            mid: get.mid.clone(),
            value: Some(self.data.get(&get.key).cloned().unwrap_or_default()),
        }
    }
}

/// A datagram a replica asks its event loop to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outgoing {
    /// A message to another replica; `leader` is the sender's belief.
    Send {
        envelope: Envelope<Put>,
        leader: Option<NodeId>,
    },
    Respond(Response),
    /// Why the node did something (only with `Config::explain`): nothing
    /// to send, for the simulator's trace.
    Explain(Reason),
}

/// A replica: a Raft node over a [`Store`], plus the client policy.
/// Cloned and hashed by the explorer (a state of its search).
#[derive(Clone)]
pub struct Server {
    node: Node<Store>,
    held: VecDeque<Held>,
    outgoing: Vec<Outgoing>,
}

/// A request waiting for a sign of life from a leader, since `since`.
#[derive(Clone, Hash)]
struct Held {
    since: Time,
    request: Request,
}

/// Requests held while no leader is known, at most; beyond it, `fail`.
pub const MAX_HELD: usize = 10_000;

/// What the server holds between inputs: the node and the held requests
/// (`outgoing` is empty once its caller took it).
impl std::hash::Hash for Server {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.node.hash(state);
        self.held.hash(state);
        self.outgoing.len().hash(state);
    }
}

impl Server {
    pub fn new(node: Node<Store>) -> Self {
        Server {
            node,
            held: VecDeque::new(),
            outgoing: Vec::new(),
        }
    }

    pub fn node(&self) -> &Node<Store> {
        &self.node
    }

    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// How long a request may be held before it is answered `fail`: two
    /// maximum election timeouts, time enough for an election and a retry.
    /// A follower cut off from every leader (a one-way cut, say) would
    /// otherwise hold its clients for ever.
    pub fn hold_timeout(&self) -> Time {
        2 * self.node.config().election_timeout_max
    }

    pub fn next_deadline(&self) -> Time {
        let expiry = self.held.front().map(|h| h.since + self.hold_timeout());
        self.node.next_deadline().min(expiry.unwrap_or(Time::MAX))
    }

    pub fn take_outgoing(&mut self) -> Vec<Outgoing> {
        std::mem::take(&mut self.outgoing)
    }

    pub fn tick(&mut self, now: Time) {
        self.node.tick(now);
        self.settle(now);
        self.expire_held(now);
    }

    /// Answers `fail` to requests held longer than [`Server::hold_timeout`]
    /// (none of them is in the log, so none can be applied later).
    fn expire_held(&mut self, now: Time) {
        let timeout = self.hold_timeout();
        while self.held.front().is_some_and(|h| now >= h.since + timeout) {
            let Held { request, .. } = self.held.pop_front().expect("checked above");
            let leader = self.node.leader();
            self.respond(request.client, request.mid, leader, Reply::Fail);
        }
    }

    pub fn step(&mut self, now: Time, envelope: Envelope<Put>) {
        self.node.step(now, envelope);
        self.settle(now);
    }

    /// Times the node out at once (see [`Node::campaign`]).
    pub fn campaign(&mut self, now: Time) {
        self.node.campaign(now);
        self.settle(now);
    }

    /// A client request: refused with `fail` if too large (see
    /// [`MAX_REQUEST_BYTES`]), else served, redirected or held.
    pub fn request(&mut self, now: Time, request: Request) {
        if request.op.size() > MAX_REQUEST_BYTES {
            let leader = self.node.leader();
            self.respond(request.client, request.mid, leader, Reply::Fail);
            return;
        }
        self.handle(now, request, now);
        self.settle(now);
    }

    /// Serves, redirects or holds `request`, held since `since`.
    fn handle(&mut self, now: Time, request: Request, since: Time) {
        let Request { client, mid, op } = request;
        let result = match op.clone() {
            Op::Put { key, value } => {
                let put = Put {
                    client,
                    mid: mid.clone(),
                    key,
                    value,
                };
                self.node.propose(now, put).map(|_| ())
            }
            Op::Get { key } => {
                let get = Get {
                    client,
                    mid: mid.clone(),
                    key,
                };
                self.node.read(now, get)
            }
        };
        let Err(NotLeader { .. }) = result else {
            return;
        };
        let reply = match self.node.fresh_leader(now) {
            Some(leader) => Some((Some(leader), Reply::Redirect)),
            None if self.held.len() < MAX_HELD => None,
            None => Some((self.node.leader(), Reply::Fail)),
        };
        match reply {
            Some((leader, reply)) => self.respond(client, mid, leader, reply),
            None => {
                let request = Request { client, mid, op };
                self.held.push_back(Held { since, request });
                self.node.probe_leader(now);
            }
        }
    }

    fn respond(&mut self, client: ClientId, mid: String, leader: Option<NodeId>, reply: Reply) {
        self.outgoing.push(Outgoing::Respond(Response {
            client,
            mid,
            leader,
            reply,
        }));
    }

    /// Turns the node's outputs into datagrams to send, and releases held requests
    /// once a leader is known.
    fn settle(&mut self, now: Time) {
        loop {
            let outputs = self.node.take_outputs();
            if outputs.is_empty() {
                break;
            }
            for output in outputs {
                match output {
                    Output::Send(envelope) => self.outgoing.push(Outgoing::Send {
                        envelope,
                        leader: self.node.leader(),
                    }),
                    Output::Reply(Answer { client, mid, value }) => {
                        let leader = Some(self.node.id());
                        self.respond(client, mid, leader, Reply::Ok { value })
                    }
                    Output::Explain(reason) => self.outgoing.push(Outgoing::Explain(reason)),
                    Output::Unserved(Get { client, mid, key }) => {
                        let op = Op::Get { key };
                        let request = Request { client, mid, op };
                        self.held.push_back(Held {
                            since: now,
                            request,
                        });
                    }
                }
            }
        }
        if !self.held.is_empty() && self.node.fresh_leader(now).is_some() {
            for Held { since, request } in std::mem::take(&mut self.held) {
                self.handle(now, request, since);
            }
            self.settle(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::Config;

    #[test]
    fn a_request_too_large_fails_at_once() {
        let node = Node::new(0, &[0, 1, 2], Config::default(), 1, 0, Store::default());
        let mut server = Server::new(node);
        let value = "v".repeat(MAX_REQUEST_BYTES);
        let request = Request {
            client: 9,
            mid: "M".into(),
            op: Op::Put {
                key: "k".into(),
                value,
            },
        };
        server.request(5, request);
        let out = server.take_outgoing();
        assert!(matches!(&out[..], [Outgoing::Respond(r)] if r.reply == Reply::Fail));
        assert_eq!(server.held(), 0);
    }

    fn put(mid: &str, key: &str, value: &str) -> Put {
        Put {
            client: 7,
            mid: mid.into(),
            key: key.into(),
            value: value.into(),
        }
    }

    #[test]
    fn store_applies_each_mid_once() {
        let mut s = Store::default();
        assert!(s.apply(&put("a", "k", "1")).is_some());
        assert!(s.apply(&put("b", "k", "2")).is_some());
        assert!(s.apply(&put("a", "k", "1")).is_none(), "a replayed MID");
        assert_eq!(s.get("k").map(String::as_str), Some("2"));
    }

    #[test]
    fn get_of_missing_key_is_empty() {
        let s = Store::default();
        let get = Get {
            client: 1,
            mid: "m".into(),
            key: "nope".into(),
        };
        assert_eq!(s.query(&get).value, Some(String::new()));
    }

    #[test]
    fn single_node_answers_put_then_get() {
        let node = Node::new(0, &[], Config::default(), 1, 0, Store::default());
        let mut server = Server::new(node);
        let deadline = server.next_deadline();
        server.tick(deadline);
        assert!(server.node().is_leader());
        let op = Op::Put {
            key: "k".into(),
            value: "v".into(),
        };
        let mid = "m1".to_string();
        server.request(deadline, Request { client: 9, mid, op });
        let get = Op::Get { key: "k".into() };
        let mid = "m2".to_string();
        server.request(
            deadline,
            Request {
                client: 9,
                mid,
                op: get,
            },
        );
        let replies: Vec<Reply> = server
            .take_outgoing()
            .into_iter()
            .filter_map(|a| match a {
                Outgoing::Respond(r) => Some(r.reply),
                _ => None,
            })
            .collect();
        let ok_v = Reply::Ok {
            value: Some("v".into()),
        };
        assert_eq!(replies, vec![Reply::Ok { value: None }, ok_v]);
    }

    #[test]
    fn follower_without_leader_holds_then_redirects() {
        let config = Config::default();
        let node = Node::new(1, &[0, 2], config, 1, 0, Store::default());
        let mut server = Server::new(node);
        let op = Op::Get { key: "k".into() };
        server.request(
            5,
            Request {
                client: 9,
                mid: "m".into(),
                op,
            },
        );
        assert!(server.take_outgoing().is_empty());
        assert_eq!(server.held(), 1);
        let heartbeat = Envelope {
            from: 0,
            to: 1,
            term: 1,
            message: crate::raft::Message::AppendEntries(crate::raft::AppendEntries {
                prev_log_index: 0,
                prev_log_term: 0,
                entries: vec![],
                leader_commit: 0,
                stamp: 6,
            }),
        };
        server.step(6, heartbeat);
        let redirect = server.take_outgoing().into_iter().find_map(|a| match a {
            Outgoing::Respond(r) => Some(r),
            _ => None,
        });
        let r = redirect.expect("the held request is redirected");
        assert_eq!((r.reply, r.leader), (Reply::Redirect, Some(0)));
    }
}
