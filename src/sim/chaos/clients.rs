//! The chaos clients: one to three keys shared by two to six clients that
//! put and get them at random, retry on `redirect` and `fail` with a new
//! MID as the course's clients do, and give up waiting after a while (the
//! operation stays open: it may still apply); and their history, for the
//! linearizability check and the answer ledger.
//!
//! Owns the clients; the faults and the world are [`super`]'s.

use super::{FAULTS, GIVE_UP, LIVENESS_MARGIN, MAX_TRIES, WANDER};
use crate::kv::{ClientId, Op, Reply, Request, Response};
use crate::raft::NodeId;
use crate::raft::time::{MILLISECOND as MS, SECOND, Time};
use crate::sim::answers::Ledger;
use crate::sim::linearizability::Operation;
use rand::RngExt;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;

struct OpRecord {
    key: String,
    put: Option<String>,
    invoke: Time,
    response: Option<Time>,
    result: Option<String>,
}

struct Busy {
    op: usize,
    mid: String,
    give_up_at: Time,
    tries: u32,
}

struct Client {
    id: ClientId,
    leader: Option<NodeId>,
    busy: Option<Busy>,
    next_at: Time,
    sent: u64,
}

/// A few clients contending for a few keys.
pub(super) struct Clients {
    clients: Vec<Client>,
    keys: Vec<String>,
    /// The share of operations that are puts (read-heavy runs leave logs
    /// unchanged for long stretches, as some elections need).
    put_share: f64,
    ops: Vec<OpRecord>,
    /// Every MID sent: for which operation, when, and how it was answered.
    ledger: Ledger,
}

impl Clients {
    /// Operations invoked, and how many of them were answered.
    pub(super) fn counts(&self) -> (usize, usize) {
        let answered = self.ops.iter().filter(|o| o.response.is_some()).count();
        (self.ops.len(), answered)
    }

    /// Every MID sent and how it was answered.
    pub(super) fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    pub(super) fn new(rng: &mut ChaCha8Rng) -> Self {
        let count = rng.random_range(2..=6);
        let put_share = *[0.02, 0.2, 0.5, 0.8].choose(rng).expect("not empty");
        let keys = (0..rng.random_range(1..=3))
            .map(|k| format!("k{k}"))
            .collect();
        let clients = (0..count)
            .map(|i| Client {
                id: 100 + i as ClientId,
                leader: None,
                busy: None,
                next_at: rng.random_range(0..SECOND),
                sent: 0,
            })
            .collect();
        Clients {
            clients,
            keys,
            put_share,
            ops: Vec::new(),
            ledger: Ledger::default(),
        }
    }

    /// When some client next starts an operation or gives one up.
    pub(super) fn next_time(&self, quiet: bool, end: Time) -> Time {
        let stop = if quiet { end - LIVENESS_MARGIN } else { end };
        self.clients
            .iter()
            .map(|c| match &c.busy {
                Some(b) => b.give_up_at,
                None if c.next_at < stop => c.next_at,
                None => Time::MAX,
            })
            .min()
            .unwrap_or(Time::MAX)
    }

    /// Clients due at `now` give up waiting or start an operation.
    pub(super) fn act(
        &mut self,
        now: Time,
        alive: &[NodeId],
        rng: &mut ChaCha8Rng,
    ) -> Vec<(NodeId, Request)> {
        let mut requests = Vec::new();
        for ci in 0..self.clients.len() {
            let c = &mut self.clients[ci];
            if c.busy.as_ref().is_some_and(|b| now >= b.give_up_at) {
                c.busy = None;
                c.leader = None;
                c.next_at = now;
            }
            if c.busy.is_some() || c.next_at > now {
                continue;
            }
            let key = self.keys.choose(rng).expect("some key").clone();
            let put = rng.random_bool(self.put_share).then(|| {
                c.sent += 1;
                format!("{}.{}", c.id, c.sent)
            });
            self.ops.push(OpRecord {
                key,
                put,
                invoke: now,
                response: None,
                result: None,
            });
            let op = self.ops.len() - 1;
            requests.extend(self.send(now, ci, op, None, alive, rng));
        }
        requests
    }

    /// Sends operation `op` of client `ci` under a new MID, to `hint` or
    /// the client's leader if alive, else to a random live node.
    pub(super) fn send(
        &mut self,
        now: Time,
        ci: usize,
        op: usize,
        hint: Option<NodeId>,
        alive: &[NodeId],
        rng: &mut ChaCha8Rng,
    ) -> Option<(NodeId, Request)> {
        let c = &mut self.clients[ci];
        let tries = c
            .busy
            .as_ref()
            .filter(|b| b.op == op)
            .map_or(0, |b| b.tries + 1);
        let known = hint.or(c.leader).filter(|_| !rng.random_bool(WANDER));
        let target = known
            .filter(|l| alive.contains(l))
            .or_else(|| alive.choose(rng).copied());
        let Some(to) = target.filter(|_| tries < MAX_TRIES) else {
            c.busy = None;
            c.next_at = now + rng.random_range(5 * MS..=100 * MS);
            return None;
        };
        let mid = format!("{}-{}-{}", c.id, op, tries);
        let patience = rng.random_range(GIVE_UP.0..=GIVE_UP.1);
        let give_up_at = c.busy.as_ref().map_or(now + patience, |b| b.give_up_at);
        c.busy = Some(Busy {
            op,
            mid: mid.clone(),
            give_up_at,
            tries,
        });
        let record = &self.ops[op];
        let operation = Op::on(&record.key, record.put.as_ref());
        self.ledger
            .issued(c.id, &mid, op, record.put.is_some(), now);
        Some((
            to,
            Request {
                client: c.id,
                mid,
                op: operation,
            },
        ))
    }

    pub(super) fn on_response(
        &mut self,
        now: Time,
        response: Response,
        alive: &[NodeId],
        rng: &mut ChaCha8Rng,
    ) -> Option<(NodeId, Request)> {
        let Response {
            client,
            mid,
            leader,
            reply,
        } = response;
        let op = self.ledger.answered(client, &mid, &reply)?.op;
        let ci = self.clients.iter().position(|c| c.id == client)?;
        self.clients[ci].leader = leader;
        let current = self.clients[ci].busy.as_ref().is_some_and(|b| b.mid == mid);
        match reply {
            Reply::Ok { value } => {
                let record = &mut self.ops[op];
                if record.response.is_none() {
                    record.response = Some(now);
                    record.result = value.filter(|_| record.put.is_none());
                }
                if current {
                    let c = &mut self.clients[ci];
                    c.busy = None;
                    c.next_at = now + rng.random_range(5 * MS..=100 * MS);
                }
                None
            }
            Reply::Redirect | Reply::Fail if current => self.send(now, ci, op, leader, alive, rng),
            Reply::Redirect | Reply::Fail => None,
        }
    }

    /// The history for the linearizability check: every put (those never
    /// answered may or may not have applied) and every answered get.
    pub(super) fn history(&self) -> Vec<Operation> {
        self.ops
            .iter()
            .filter_map(|o| {
                let (put, result) = (o.put.as_ref(), o.result.as_ref());
                Operation::of(&o.key, put, o.invoke, o.response, result)
            })
            .collect()
    }

    /// A request sent in the quiet phase, in time to be answered, that no
    /// replica answered (ok, redirect or fail), with its MID.
    pub(super) fn unanswered_in_quiet(&self, end: Time) -> Option<(&str, Time)> {
        let until = end.saturating_sub(LIVENESS_MARGIN);
        self.ledger.unanswered_between(FAULTS, until)
    }
}
